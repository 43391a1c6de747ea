#include "retain_prefetch.h"
