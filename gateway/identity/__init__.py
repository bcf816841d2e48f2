"""Who made a call: resolvers map connection facts to a task."""
