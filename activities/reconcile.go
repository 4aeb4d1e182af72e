package activities

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalerr"
)

// Reconciliation compares the numbers Telnyx holds for the account with
// the numbers the database says teams hold. The two drift apart when
// someone buys or releases numbers with the account's key outside
// Talkturo, or when an order completes after its purchase was given up.
//
// Each activity judges from fresh reads and keeps nothing between runs,
// so a run that dies half-way is simply run again.

// providerHolds reports whether the account holds (and is billed for) a
// number in this status: every state but the gone ones, requirement-info
// and provision states included.
func providerHolds(status domain.OwnedNumberStatus) bool { return status.Held() }

// orderIncomplete reports whether a held number in this status is still
// being bought (its order, or a regulated number's documents, pending):
// not an orphan to release yet.
func orderIncomplete(status domain.OwnedNumberStatus) bool {
	switch status {
	case domain.OwnedPurchasePending, domain.OwnedProvisionPending,
		domain.OwnedRequirementInfoPending, domain.OwnedRequirementInfoUnderReview, domain.OwnedRequirementInfoException:
		return true
	}
	return false
}

const (
	// ownedPageSize is the largest page Telnyx lists.
	ownedPageSize = 250
	// maxOwnedPages stops a listing whose pages never end (a provider
	// that ignores page[number] and repeats itself): 2.5 million numbers.
	maxOwnedPages = 10000
	// livePageSize is a page of the database's live numbers.
	livePageSize = 1000
	// MaxFindings bounds each list FindDrift returns: the lists go into
	// the workflow's history, whose payloads must stay small. Findings
	// beyond it are counted, and listed by a later run once the first ones
	// are dealt with.
	MaxFindings = 500
)

// Outcomes of an orphan in a reconciliation run. ReleaseOrphan returns
// the first five and porting; the workflow decides the others without calling it.
const (
	OrphanReleased       = "released"        // released at the provider now
	OrphanHeld           = "held"            // a team holds it now: a purchase recorded it since the listing
	OrphanGone           = "gone"            // the provider no longer holds that record (released meanwhile)
	OrphanPending        = "pending"         // its order has not completed: a later run releases it
	OrphanDeletionLocked = "deletion_locked" // the provider refused: an operator must lift the lock
	OrphanTooYoung       = "too_young"       // created less than the orphan delay ago: left alone
	OrphanWithheld       = "withheld"        // more orphans were due than a run may release
	OrphanFailed         = "failed"          // the release failed; a later run tries again
	// OrphanPorting: the number is being ported in or out; deleting it
	// mid-port is destructive, so it is reported to operators, never
	// released by a run.
	OrphanPorting = "porting"
)

// porting reports whether a held number in this status is mid-port.
func porting(status domain.OwnedNumberStatus) bool {
	return status == domain.OwnedPortPending || status == domain.OwnedPortOutPending
}

// ReconcileOptions suit the reconciliation activities: a listing of every
// number takes a while (heartbeats show it is alive), and a provider or
// database outage fails the run after a few attempts instead of holding
// it: the next scheduled run starts afresh.
func ReconcileOptions() workflow.ActivityOptions {
	policy := backoff(time.Second, 30*time.Second)
	policy.MaximumAttempts = 5
	return workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    3 * heartbeatEvery,
		RetryPolicy:         policy,
	}
}

// FindDriftInput tunes FindDrift.
type FindDriftInput struct {
	// OrphanDelay is how long ago the provider must have created an
	// orphan for it to be due for release.
	OrphanDelay time.Duration
}

// Orphan is a number the provider holds for the account that no team
// holds in the database.
type Orphan struct {
	PhoneNumber       string
	ProviderNumberID  string
	ProviderStatus    string
	CustomerReference string
	CreatedAt         time.Time
	DeletionLocked    bool
	// Due reports that the provider created it longer than the orphan
	// delay ago (a record without a creation time is never due).
	Due bool
}

// Missing is a number the database holds active for a team that the
// provider does not hold for the account.
type Missing struct {
	PhoneNumber      string
	NumberID         string
	TeamID           string
	WorkflowID       string
	ProviderNumberID string
}

// Drift is what FindDrift found.
type Drift struct {
	// OwnedAtProvider counts the numbers the provider holds (active or
	// being bought); LiveInDatabase the pending and active records.
	OwnedAtProvider int
	LiveInDatabase  int
	// OrphanCount and MissingCount count every finding; the lists hold at
	// most MaxFindings each.
	OrphanCount  int
	MissingCount int
	// Orphans, those due first, then by number.
	Orphans []Orphan
	// Missing candidates, by number: ConfirmMissing tells them from
	// releases and purchases that were under way while FindDrift read.
	Missing []Missing
}

// FindDrift lists every number the provider holds for the account and
// every live record of the database, and compares them by E.164 number.
//
// The provider is read first. A purchase records its number (pending)
// before ordering it, so a number the provider listed is either live in the
// database read afterwards or its purchase had already ended: a true
// orphan, or a release in progress that ReleaseOrphan finds gone. Only
// active records can be missing: a pending one may not have been ordered
// yet.
func (a *Activities) FindDrift(ctx context.Context, in FindDriftInput) (Drift, error) {
	defer keepAlive(ctx)()
	owned, err := a.providerHoldings(ctx)
	if err != nil {
		return Drift{}, err
	}
	live := map[string]domain.PhoneNumber{}
	for after := ""; ; {
		page, err := a.Numbers.ListLive(ctx, after, livePageSize)
		if err != nil {
			return Drift{}, temporalerr.ActivityError(err)
		}
		for _, n := range page {
			live[n.PhoneNumber] = n
		}
		if len(page) < livePageSize {
			break
		}
		after = page[len(page)-1].PhoneNumber
	}

	now := time.Now()
	d := Drift{OwnedAtProvider: len(owned), LiveInDatabase: len(live)}
	for e164, n := range owned {
		if _, held := live[e164]; held {
			continue
		}
		d.Orphans = append(d.Orphans, Orphan{
			PhoneNumber: e164, ProviderNumberID: n.ID, ProviderStatus: string(n.Status),
			CustomerReference: n.CustomerReference, CreatedAt: n.CreatedAt.UTC(),
			DeletionLocked: n.DeletionLockEnabled,
			Due:            !n.CreatedAt.IsZero() && now.Sub(n.CreatedAt) >= in.OrphanDelay,
		})
	}
	for e164, n := range live {
		if _, held := owned[e164]; held || n.Status != domain.NumberActive {
			continue
		}
		d.Missing = append(d.Missing, Missing{PhoneNumber: e164, NumberID: n.ID, TeamID: n.TeamID, WorkflowID: n.WorkflowID, ProviderNumberID: n.ProviderNumberID})
	}
	slices.SortFunc(d.Orphans, func(x, y Orphan) int {
		if x.Due != y.Due {
			if x.Due {
				return -1
			}
			return 1
		}
		return cmp.Compare(x.PhoneNumber, y.PhoneNumber)
	})
	slices.SortFunc(d.Missing, func(x, y Missing) int { return cmp.Compare(x.PhoneNumber, y.PhoneNumber) })
	d.OrphanCount, d.MissingCount = len(d.Orphans), len(d.Missing)
	d.Orphans = d.Orphans[:min(len(d.Orphans), MaxFindings)]
	d.Missing = d.Missing[:min(len(d.Missing), MaxFindings)]
	return d, nil
}

// providerHoldings pages through the numbers the provider holds for the
// account, by E.164 number.
func (a *Activities) providerHoldings(ctx context.Context) (map[string]domain.OwnedNumber, error) {
	owned := map[string]domain.OwnedNumber{}
	seen := map[string]bool{}
	for page := 1; page <= maxOwnedPages; page++ {
		numbers, err := a.Provider.ListOwnedNumbers(ctx, domain.OwnedNumberFilter{PageNumber: page, PageSize: ownedPageSize})
		if err != nil {
			return nil, temporalerr.ActivityError(err)
		}
		fresh := 0
		for _, n := range numbers {
			if !seen[n.ID] {
				seen[n.ID] = true
				fresh++
			}
			if providerHolds(n.Status) {
				owned[n.PhoneNumber] = n
			}
		}
		// A short page is the last; a page of nothing new means the
		// provider is repeating itself.
		if len(numbers) < ownedPageSize || fresh == 0 {
			return owned, nil
		}
	}
	return nil, errors.New("the provider's listing of owned numbers did not end")
}

// heldAtProvider returns the provider's record of the number, when it
// holds the number for the account.
func (a *Activities) heldAtProvider(ctx context.Context, e164 string) (domain.OwnedNumber, bool, error) {
	numbers, err := a.Provider.ListOwnedNumbers(ctx, domain.OwnedNumberFilter{PhoneNumber: e164, PageSize: ownedPageSize})
	if err != nil {
		return domain.OwnedNumber{}, false, temporalerr.ActivityError(err)
	}
	for _, n := range numbers {
		if n.PhoneNumber == e164 && providerHolds(n.Status) {
			return n, true, nil
		}
	}
	return domain.OwnedNumber{}, false, nil
}

// ReleaseOrphan releases an orphan at the provider, after looking again:
// a number a team holds by now (a purchase recorded it since FindDrift
// read) is left alone, and so is a provider record that changed. The
// look happens before the release, and a purchase can no longer take the
// record afterwards: the provider refuses to order a number the account
// already holds, so that purchase fails as number_unavailable rather than
// losing its number. A deletion lock is an outcome, not a failure.
func (a *Activities) ReleaseOrphan(ctx context.Context, o Orphan) (string, error) {
	defer keepAlive(ctx)()
	_, err := a.Numbers.LiveByNumber(ctx, o.PhoneNumber)
	switch {
	case err == nil:
		return OrphanHeld, nil
	case !errors.Is(err, domain.ErrNotFound):
		return "", temporalerr.ActivityError(err)
	}
	current, found, err := a.heldAtProvider(ctx, o.PhoneNumber)
	switch {
	case err != nil:
		return "", err
	case !found || current.ID != o.ProviderNumberID:
		// Another record is the next run's to judge, with its own age.
		return OrphanGone, nil
	case orderIncomplete(current.Status):
		return OrphanPending, nil
	case porting(current.Status):
		return OrphanPorting, nil
	case current.DeletionLockEnabled:
		return OrphanDeletionLocked, nil
	}
	if err := a.Provider.ReleaseNumber(ctx, current.ID); err != nil {
		err = a.refusedRelease(ctx, current.ID, err)
		switch {
		case err == nil:
			return OrphanGone, nil
		case temporalerr.Type(err) == domain.CodeDeletionLocked:
			return OrphanDeletionLocked, nil
		}
		return "", temporalerr.ActivityError(err)
	}
	return OrphanReleased, nil
}

// ConfirmMissing looks again at numbers FindDrift found missing and
// returns those still missing: still active in the database under the
// same record, and still not held at the provider. A release in progress
// (the provider first, the record next) and a purchase that completed
// while FindDrift read are not drift, and by now they have settled.
func (a *Activities) ConfirmMissing(ctx context.Context, candidates []Missing) ([]Missing, error) {
	defer keepAlive(ctx)()
	var confirmed []Missing
	for _, m := range candidates {
		n, err := a.Numbers.LiveByNumber(ctx, m.PhoneNumber)
		if errors.Is(err, domain.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, temporalerr.ActivityError(err)
		}
		if n.ID != m.NumberID || n.Status != domain.NumberActive {
			continue
		}
		if _, held, err := a.heldAtProvider(ctx, m.PhoneNumber); err != nil {
			return nil, err
		} else if held {
			continue
		}
		confirmed = append(confirmed, m)
	}
	return confirmed, nil
}
