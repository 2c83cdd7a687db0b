package password

// HoldSlot takes one of h's slots, as a running hash does, until release is
// called: tests use it to fill the Hasher without racing real hashes.
func (h *Hasher) HoldSlot() (release func()) {
	h.slots <- struct{}{}
	return h.release
}

// Dummy is the hash DummyVerify checks against.
func (h *Hasher) Dummy() string { return h.dummy }
