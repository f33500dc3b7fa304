"""Plugin modules as a third-party package would write them, registered in tests with ``using_plugins``."""
