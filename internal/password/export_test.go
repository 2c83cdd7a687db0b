package password

// Dummy is the hash DummyVerify checks against.
func (h *Hasher) Dummy() string { return h.dummy }
