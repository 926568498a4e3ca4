"""The backends of the emulated services (moto's ``models``): resources, rules and state, never HTTP."""
