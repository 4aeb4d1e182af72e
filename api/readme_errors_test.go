package api_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestREADMEErrorTableListsEveryPublicCode keeps the README's error table
// and the codes the API can answer in step, both ways: every Code*
// constant of package domain and every code api/openapi.json allows is in
// the table, and the table lists nothing else.
func TestREADMEErrorTableListsEveryPublicCode(t *testing.T) {
	documented := readmeErrorCodes(t, "../README.md")
	public := map[string]string{}
	for _, c := range domainCodes(t, "../domain") {
		public[c] = "a Code constant in domain"
	}
	schema := loadOpenAPI(t).Components.Schemas["ErrorDetail"]
	if schema == nil || schema.Value.Properties["code"] == nil {
		t.Fatal("api/openapi.json has no ErrorDetail.code")
	}
	for _, v := range schema.Value.Properties["code"].Value.Enum {
		if _, ok := public[v.(string)]; !ok {
			public[v.(string)] = "in ErrorDetail.code of api/openapi.json"
		}
	}
	if len(public) == 0 {
		t.Fatal("found no public error code at all")
	}
	for code, where := range public {
		if !slices.Contains(documented, code) {
			t.Errorf("%s (%s) is missing from the README's error table", code, where)
		}
	}
	for _, code := range documented {
		if _, ok := public[code]; !ok {
			t.Errorf("the README's error table lists %s, which is neither a Code constant in domain nor in api/openapi.json", code)
		}
	}
}

var backticked = regexp.MustCompile("`([a-z_]+)`")

// readmeErrorCodes returns the codes of the table under "### Errors".
func readmeErrorCodes(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n### Errors\n")
	if !ok {
		t.Fatal("the README has no \"### Errors\" section")
	}
	var codes []string
	inTable := false
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		for _, m := range backticked.FindAllStringSubmatch(cells[2], -1) {
			codes = append(codes, m[1])
		}
	}
	if len(codes) == 0 {
		t.Fatal("found no code in the README's error table")
	}
	return codes
}

// domainCodes returns the values of the string constants named Code* in
// the Go files of dir: the public codes, as domain declares them.
func domainCodes(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Code") || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, _ := strconv.Unquote(lit.Value)
					codes = append(codes, s)
				}
			}
			return false
		})
	}
	return codes
}
