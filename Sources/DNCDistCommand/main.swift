print("dnc-dist")
