"""`chatenv doctor`: each area of the machine is a module of checks; `runner` runs them."""
