package domain_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/talkturo/phonenumbers/domain"
)

// TestRegistryNamesEachCodeOnce: one entry per code, every internal code
// shown as a public one with that code's kind, and every entry found by
// LookupCode.
func TestRegistryNamesEachCodeOnce(t *testing.T) {
	codes := domain.Codes()
	seen := map[string]bool{}
	for _, c := range codes {
		if c.Code == "" || seen[c.Code] {
			t.Fatalf("code %q is registered twice or empty", c.Code)
		}
		seen[c.Code] = true
		got, ok := domain.LookupCode(c.Code)
		if !ok || got != c {
			t.Errorf("LookupCode(%s) = %+v, %v; want %+v", c.Code, got, ok, c)
		}
		if c.IsPublic() {
			continue
		}
		shown, ok := domain.LookupCode(c.Public)
		if !ok || !shown.IsPublic() || shown.Kind != c.Kind {
			t.Errorf("internal code %s is shown as %s (%+v), which is no public code of its kind %v", c.Code, c.Public, shown, c.Kind)
		}
	}
	if _, ok := domain.LookupCode("no_such_code"); ok {
		t.Error("LookupCode found a code nobody registered")
	}
	codes[0].Code = "changed"
	if domain.Codes()[0].Code == "changed" {
		t.Error("Codes hands out the registry itself")
	}
}

// TestPublicCodeShowsNoInternalCode: every registered code is shown as
// its registry entry says, and a code nobody registered (a Go error type
// a failure carried) as internal_error.
func TestPublicCodeShowsNoInternalCode(t *testing.T) {
	for _, c := range domain.Codes() {
		shown, ok := domain.LookupCode(domain.PublicCode(c.Code))
		if !ok || !shown.IsPublic() || (c.IsPublic() && shown.Code != c.Code) {
			t.Errorf("PublicCode(%s) = %s, which is not a public code, or not itself", c.Code, shown.Code)
		}
	}
	for code, want := range map[string]string{
		domain.CodeDeletionLocked:   domain.CodeReleaseBlocked,
		domain.CodeProviderRejected: domain.CodeProviderUnavailable,
		domain.CodeNumberIDTaken:    domain.CodeInternal,
	} {
		if got := domain.PublicCode(code); got != want {
			t.Errorf("PublicCode(%s) = %s, want %s", code, got, want)
		}
	}
	for _, code := range []string{"*errors.errorString", "internal", ""} {
		if got := domain.PublicCode(code); got != domain.CodeInternal {
			t.Errorf("PublicCode(%q) = %s, want %s", code, got, domain.CodeInternal)
		}
	}
}

// TestMessagesOfTheirCode: the constructors used on both sides of Temporal
// carry their code and kind, and name the number.
func TestMessagesOfTheirCode(t *testing.T) {
	for _, e := range []*domain.Error{domain.NumberInPurchase("+14155550100"), domain.NumberUnavailable("+14155550100"), domain.AlreadyOwned("+14155550100"),
		domain.RequirementsDeadlinePassed("+14155550100"), domain.NumberStillBeingBought(), domain.NumberNotHeld(), domain.Internal(nil)} {
		info, ok := domain.LookupCode(e.Code)
		if !ok || !info.IsPublic() || info.Kind != e.Kind || e.Message == "" {
			t.Errorf("%+v does not match its registered code %+v", e, info)
		}
	}
	if got := domain.NumberInPurchase("+14155550100").Message; got != "Another team is buying +14155550100 right now." {
		t.Errorf("NumberInPurchase says %q", got)
	}
	if got := domain.AlreadyOwned("+14155550100").Message; got != "Your team already owns +14155550100." {
		t.Errorf("AlreadyOwned says %q", got)
	}
	for _, e := range []*domain.Error{domain.NumberUnavailable("+14155550100"), domain.RequirementsDeadlinePassed("+14155550100")} {
		if !strings.Contains(e.Message, "+14155550100") {
			t.Errorf("%s says %q, which does not name the number", e.Code, e.Message)
		}
	}
}

// TestEveryCodeConstantIsRegistered: a Code* constant of package domain
// that the registry does not know would be read back from Temporal as an
// internal error and missing from the README's table and the OpenAPI
// enum, which list the registry's codes. The constants are read from
// domain's own source, the registry's only input it cannot see itself.
func TestEveryCodeConstantIsRegistered(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !name.IsExported() || !strings.HasPrefix(name.Name, "Code") {
						continue
					}
					found++
					var lit *ast.BasicLit
					if i < len(vs.Values) {
						lit, _ = vs.Values[i].(*ast.BasicLit)
					}
					if lit == nil || lit.Kind != token.STRING {
						t.Errorf("%s (%s) is no string literal: this test cannot read its code", name.Name, fset.Position(name.Pos()))
						continue
					}
					code, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					if _, ok := domain.LookupCode(code); !ok {
						t.Errorf("%s (%q, %s) is not in the registry (publicCodes or internalCodes in errors.go)", name.Name, code, fset.Position(name.Pos()))
					}
				}
			}
		}
	}
	if found < len(domain.Codes()) {
		t.Fatalf("found %d Code constants in domain's source, fewer than the %d registered codes", found, len(domain.Codes()))
	}
}
