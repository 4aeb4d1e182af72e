package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/activities"
)

// Register registers the workflows and the activities on a worker (or a
// test environment).
func Register(r interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
	RegisterActivity(a any)
}, a *activities.Activities) {
	registerWithLimits(r, a, RunLimits{})
}

// RegisterWithLimits is Register with other run limits for the number
// workflow: for a replay of a v2 history recorded by a worker with them
// (a v2 run does not record its limits; every production worker has the
// defaults).
func RegisterWithLimits(r interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
	RegisterActivity(a any)
}, a *activities.Activities, limits RunLimits) {
	registerWithLimits(r, a, limits)
}

func registerWithLimits(r interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
	RegisterActivity(a any)
}, a *activities.Activities, limits RunLimits) {
	r.RegisterWorkflowWithOptions(numberWorkflowWith(limits, true), workflow.RegisterOptions{Name: NumberWorkflowType})
	r.RegisterWorkflowWithOptions(numberWorkflowWith(limits, false), workflow.RegisterOptions{Name: NumberWorkflowTypeV1})
	r.RegisterWorkflowWithOptions(TeamBillingWorkflow, workflow.RegisterOptions{Name: TeamWorkflowType})
	r.RegisterWorkflowWithOptions(ReconcileWorkflow, workflow.RegisterOptions{Name: ReconcileWorkflowType})
	r.RegisterWorkflowWithOptions(ReleaseNumberWorkflow, workflow.RegisterOptions{Name: ReleaseWorkflowType})
	r.RegisterActivity(a)
}
