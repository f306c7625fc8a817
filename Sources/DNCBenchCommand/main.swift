print("dnc-bench")
