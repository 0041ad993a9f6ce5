"""Alert delivery: the router (Deliverer) from the alerts topic to the sinks, ACL users, the wall clock."""
