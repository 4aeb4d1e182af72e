package persistence

// ListenerDone returns the channel that closes when e's running listener
// has ended, or nil when none runs, so tests can watch the goroutine that
// Stop must end.
func ListenerDone(e *OrderEvents) <-chan struct{} {
	e.runMu.Lock()
	defer e.runMu.Unlock()
	return e.done
}
