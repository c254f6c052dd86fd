"""Platform adapters: turn platform events into core Commands and core Replies into payloads."""
