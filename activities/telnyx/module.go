package telnyx

import (
	"go.uber.org/fx"

	"github.com/talkturo/phonenumbers/domain"
)

// Module provides the Telnyx client as the domain's NumberProvider. The app
// supplies a Config.
var Module = fx.Module("telnyx",
	fx.Provide(fx.Annotate(New, fx.As(new(domain.NumberProvider)))),
)
