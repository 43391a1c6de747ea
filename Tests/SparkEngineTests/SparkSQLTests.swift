import Testing
@testable import SparkEngine

@Suite struct SparkSQLTests {}
