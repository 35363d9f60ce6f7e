"""What the provider's hospital users sign in with (shared by the provider and the tests)."""

PASSWORD = "hospital password 1"
