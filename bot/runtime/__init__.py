"""Running the engine against storage and channels: dispatcher, scheduler, clock."""
