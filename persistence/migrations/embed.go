// Package migrations holds the versioned SQL migrations of the database
// schema, embedded in the binary so that every process migrates to exactly
// the schema it was built with.
//
// Files are named NNNNN_what_it_does.sql and carry goose annotations
// (-- +goose Up / -- +goose Down). A migration that has shipped is never
// edited: change the schema with a new file.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed *.sql
var files embed.FS

// FS returns the migration files. It is a function rather than an exported
// variable so that no caller can replace the embedded set.
func FS() fs.FS { return files }
