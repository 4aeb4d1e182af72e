package main

import (
	"fmt"

	"github.com/nyaruka/phonenumbers"
)

// Each use of numbers draws from its own area code, so no two purchases of
// a run ever ask for the same number: the simulator stocks every valid
// North American number (telnyxsim's inventory is generated, not stored),
// and a repeated number would measure a refusal instead. Like Telnyx, it
// sells only what a recent search offered: see (*stack).offer.
const (
	npaAPIPurchases    = "628" // phase 1, through the API
	npaDirectPurchases = "341" // phase 1, the direct baseline
	npaHeld            = "279" // phase 2, the team holding many numbers
	npaTrials          = "445" // phase 3, the trials
)

// numbersIn returns n distinct valid numbers of the area code: exchanges
// from 201 up, lines 0000 to 9999, skipping what libphonenumber (which the
// simulator checks orders with) does not accept.
func numbersIn(npa string, n int) ([]string, error) {
	out := make([]string, 0, n)
	for exchange := 201; exchange <= 999 && len(out) < n; exchange++ {
		for line := 0; line <= 9999 && len(out) < n; line++ {
			e164 := fmt.Sprintf("+1%s%03d%04d", npa, exchange, line)
			num, err := phonenumbers.Parse(e164, "")
			if err != nil || !phonenumbers.IsValidNumber(num) {
				continue
			}
			out = append(out, e164)
		}
	}
	if len(out) < n {
		return nil, fmt.Errorf("area code %s has only %d valid numbers, %d are needed", npa, len(out), n)
	}
	return out, nil
}

// offer runs, untimed, the search a customer runs before each purchase:
// the simulator, as Telnyx, orders only a number a search offered within
// its SearchTTL (an hour). The tool picks its numbers itself (numbersIn)
// rather than from API search answers, so that no two purchases of a run
// meet on one number, and searches for each right before the purchases
// start, on the in-process simulator (telnyxsim's SearchFor, the search its
// API serves): the purchase rows then time the purchase alone, as they
// did, and search latency has rows of its own.
func (s *stack) offer(numbers []string) error {
	for _, e164 := range numbers {
		if err := s.sim.SearchFor(e164); err != nil {
			return err
		}
	}
	return nil
}
