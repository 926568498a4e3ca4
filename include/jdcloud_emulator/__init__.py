"""Local emulator of the JD Cloud API (vpc, vm, assistant, bgw) that the real ``jdcloud-sdk`` talks to."""
