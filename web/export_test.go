package web

// TurnPanelOff leaves the session panel out of s's pages, for the
// benchmarks to measure what it costs.
func TurnPanelOff(s *Server) { s.panelOff = true }
