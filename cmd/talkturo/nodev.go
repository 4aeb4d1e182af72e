//go:build !devstack

package main

// This is the production build (deploy/Dockerfile's): without the devstack
// tag, talkturo leaves out `talkturo dev` and what only it links (dev.go,
// devstate.go: the embedded Temporal server, its Web UI, PostgreSQL
// bootstrapping), which are most of the dependencies, build time and size
// of the dev build. It still knows the command, to say how to get it.

import (
	"context"
	"errors"

	"github.com/talkturo/phonenumbers/cmd/talkturo/config"
)

// devCommand answers `talkturo dev`, its flags and `talkturo help dev`.
var devCommand = command{name: "dev", leftOut: true,
	about: "dev is not in this build, a production binary without the embedded Temporal server, its Web UI and PostgreSQL: run `make run`, or build one with `go build -tags devstack ./cmd/talkturo`.",
	reads: func(string) bool { return false }}

// devUsage is dev's part of the usage text.
const devUsage = "  talkturo dev            not in this build: `make run`, or go build -tags devstack ./cmd/talkturo\n"

// runDev is not reached: run answers for devCommand before it loads the
// configuration. (run's switch names it in both builds.)
func runDev(context.Context, config.Config, []string) error { return errors.New(devCommand.about) }
