package workflows

import (
	"fmt"
	"testing"
)

// TestPhaseChangesOnlyAlongTheArrows: enter moves the run along the
// arrows of its doc comment and refuses (panics on) every other change,
// so a bug that would take the number's life somewhere it cannot be
// stops the run instead.
func TestPhaseChangesOnlyAlongTheArrows(t *testing.T) {
	t.Parallel()
	phases := []RunPhase{phasePurchasing, phaseAwaitingDocuments, PhaseHolding, PhaseEnding, phaseEnded, PhaseUndoing, phaseFailed}
	arrows := map[[2]RunPhase]bool{
		{phasePurchasing, phaseAwaitingDocuments}: true,
		{phaseAwaitingDocuments, phasePurchasing}: true,
		{phasePurchasing, PhaseHolding}:           true,
		{phasePurchasing, PhaseUndoing}:           true,
		{phasePurchasing, phaseFailed}:            true,
		{PhaseHolding, PhaseEnding}:               true,
		{PhaseEnding, phaseEnded}:                 true,
		{PhaseUndoing, phaseFailed}:               true,
	}
	for _, from := range phases {
		for _, to := range phases {
			t.Run(fmt.Sprintf("%s to %s", from, to), func(t *testing.T) {
				w := &numberWorkflow{phase: from}
				panicked := func() (p bool) {
					defer func() { p = recover() != nil }()
					w.enter(to)
					return false
				}()
				if want := arrows[[2]RunPhase{from, to}]; panicked == want || (want && w.phase != to) || (!want && w.phase != from) {
					t.Fatalf("enter: panicked %v, phase now %s; want the change made: %v", panicked, w.phase, want)
				}
			})
		}
	}
}
