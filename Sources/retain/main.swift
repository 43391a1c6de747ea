print("retain")
