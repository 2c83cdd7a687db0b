package password

// HoldSlot takes one of h's slots, as a running hash does, until release is
// called: tests use it to fill the Hasher without racing real hashes, here
// and in the packages that use a Hasher (a sign-in that finds every slot
// busy, in web). The application never calls it.
func (h *Hasher) HoldSlot() (release func()) {
	h.slots <- struct{}{}
	return h.release
}
