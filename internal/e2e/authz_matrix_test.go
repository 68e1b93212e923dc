package e2e

// The authorization matrix: every data-plane route, driven over HTTPS
// through the real server, against expectations taken from Azure's
// documentation, never from keyhaven's own tables:
//
//   - testdata/keyvault-operations.tsv: for each operation, the access-policy
//     permission and the RBAC data action Azure documents (see its header);
//   - keyVaultDataRoles: the built-in roles' data actions, transcribed from
//     Azure's published role definitions (a second transcription beside
//     internal/authz/roles.go: if either is wrong, the matrix shows it);
//   - accessPolicyPermissions: the permission names of Azure's
//     management-plane Permissions enum.
//
// Requests need not be valid past the authorization point: the objects they
// name do not exist and they carry no body, so an allowed request ends in
// 400 or 404 from its handler (or 200 for a list) and a denied one in 403.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/audit"
	"github.com/keyhaven/keyhaven/internal/testenv"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

const (
	matrixObject = "Target" // the object every matrix request names (Azure names are case-insensitive)
	// matrixSibling is an object of the same collection whose name is a
	// prefix of the target's, so that a scope compared as a plain string
	// prefix shows.
	matrixSibling   = "targ"
	matrixVersion   = "0123456789abcdef0123456789abcdef"
	vaultTokenScope = "https://vault.localhost/.default"
)

// ---------------------------------------------------------------------------
// The oracle.

// kvOperation is one row of testdata/keyvault-operations.tsv.
type kvOperation struct {
	method, path, id string
	permission       string   // "keys/get"; "-" for Managed HSM only operations
	dataAction       string   // Azure RBAC data action
	specText         string   // the spec's wording where it differs from permission
	alsoNamed        []string // other permission names the spec text names (undecided)
}

// hsmOnly reports an operation Azure serves on Managed HSM only: its
// documentation says nothing about it on vaults.
func (o *kvOperation) hsmOnly() bool { return o.permission == "-" }

// objectType is the operation's access-policy permission type.
func (o *kvOperation) objectType() string { t, _, _ := strings.Cut(o.permission, "/"); return t }

// permName is the permission without its type, lower-case.
func (o *kvOperation) permName() string {
	_, n, _ := strings.Cut(o.permission, "/")
	return strings.ToLower(n)
}

const fixtureHeader = "method\tpath\toperationId\tpermission\tdataAction\tspecText\talsoNamed"

// loadOperations reads and checks the fixture.
func loadOperations(t *testing.T) []*kvOperation {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "keyvault-operations.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var ops []*kvOperation
	header := false
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !header {
			if line != fixtureHeader {
				t.Fatalf("fixture line %d: header %q, want %q", i+1, line, fixtureHeader)
			}
			header = true
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 7 {
			t.Fatalf("fixture line %d: %d columns, want 7", i+1, len(f))
		}
		op := &kvOperation{method: f[0], path: f[1], id: f[2], permission: f[3], dataAction: f[4], specText: f[5]}
		if f[6] != "-" {
			op.alsoNamed = strings.Split(strings.ToLower(f[6]), ",")
		}
		if err := op.validate(); err != nil {
			t.Fatalf("fixture line %d: %v", i+1, err)
		}
		ops = append(ops, op)
	}
	if len(ops) < 60 {
		t.Fatalf("the fixture holds %d operations; it should list every data-plane operation keyhaven serves", len(ops))
	}
	return ops
}

func (o *kvOperation) validate() error {
	switch {
	case !slices.Contains([]string{"GET", "PUT", "POST", "PATCH", "DELETE"}, o.method) || !strings.HasPrefix(o.path, "/"):
		return fmt.Errorf("bad method or path %s %s", o.method, o.path)
	case !strings.HasPrefix(o.dataAction, "Microsoft.KeyVault/"):
		return fmt.Errorf("%s: bad data action %q", o.id, o.dataAction)
	case o.hsmOnly():
		return nil
	}
	names, ok := accessPolicyPermissions[o.objectType()]
	if !ok || !containsFold(names, o.permName()) {
		return fmt.Errorf("%s: %q is not an access-policy permission", o.id, o.permission)
	}
	for _, n := range o.alsoNamed {
		if !containsFold(names, n) {
			return fmt.Errorf("%s: alsoNamed %q is not a %s permission", o.id, n, o.objectType())
		}
	}
	return nil
}

// accessPolicyPermissions are Azure's access-policy permission names but
// "all": the Permissions enum of the management plane
// (Microsoft.KeyVault 2025-05-01 keyvault.json, definitions.Permissions).
var accessPolicyPermissions = map[string][]string{
	"keys": {"encrypt", "decrypt", "wrapKey", "unwrapKey", "sign", "verify", "get", "list", "create", "update", "import",
		"delete", "backup", "restore", "recover", "purge", "release", "rotate", "getrotationpolicy", "setrotationpolicy"},
	"secrets": {"get", "list", "set", "delete", "backup", "restore", "recover", "purge"},
	"certificates": {"get", "list", "delete", "create", "import", "update", "managecontacts", "getissuers", "listissuers",
		"setissuers", "deleteissuers", "manageissuers", "recover", "purge", "backup", "restore"},
}

// objectTypes are the access-policy types the data plane serves, in order.
var objectTypes = []string{"secrets", "keys", "certificates"}

// azureRole is a built-in role's data-plane permissions.
type azureRole struct {
	name                        string
	dataActions, notDataActions []string
}

// keyVaultDataRoles are Azure's built-in Key Vault data roles, transcribed
// from Azure's published role definitions (MicrosoftDocs/azure-docs,
// articles/role-based-access-control/built-in-roles/security.md; none has
// notDataActions).
var keyVaultDataRoles = []azureRole{
	{name: "Key Vault Administrator", dataActions: []string{"Microsoft.KeyVault/vaults/*"}},
	{name: "Key Vault Reader", dataActions: []string{
		"Microsoft.KeyVault/vaults/*/read",
		"Microsoft.KeyVault/vaults/secrets/readMetadata/action"}},
	{name: "Key Vault Secrets Officer", dataActions: []string{"Microsoft.KeyVault/vaults/secrets/*"}},
	{name: "Key Vault Secrets User", dataActions: []string{
		"Microsoft.KeyVault/vaults/secrets/getSecret/action",
		"Microsoft.KeyVault/vaults/secrets/readMetadata/action"}},
	{name: "Key Vault Crypto Officer", dataActions: []string{
		"Microsoft.KeyVault/vaults/keys/*",
		"Microsoft.KeyVault/vaults/keyrotationpolicies/*"}},
	{name: "Key Vault Crypto User", dataActions: []string{
		"Microsoft.KeyVault/vaults/keys/read",
		"Microsoft.KeyVault/vaults/keys/update/action",
		"Microsoft.KeyVault/vaults/keys/backup/action",
		"Microsoft.KeyVault/vaults/keys/encrypt/action",
		"Microsoft.KeyVault/vaults/keys/decrypt/action",
		"Microsoft.KeyVault/vaults/keys/wrap/action",
		"Microsoft.KeyVault/vaults/keys/unwrap/action",
		"Microsoft.KeyVault/vaults/keys/sign/action",
		"Microsoft.KeyVault/vaults/keys/verify/action"}},
	{name: "Key Vault Crypto Service Encryption User", dataActions: []string{
		"Microsoft.KeyVault/vaults/keys/read",
		"Microsoft.KeyVault/vaults/keys/wrap/action",
		"Microsoft.KeyVault/vaults/keys/unwrap/action"}},
	{name: "Key Vault Crypto Service Release User", dataActions: []string{
		"Microsoft.KeyVault/vaults/keys/release/action"}},
	{name: "Key Vault Certificates Officer", dataActions: []string{
		"Microsoft.KeyVault/vaults/certificatecas/*",
		"Microsoft.KeyVault/vaults/certificates/*",
		"Microsoft.KeyVault/vaults/certificatecontacts/write"}},
	{name: "Key Vault Certificate User", dataActions: []string{
		"Microsoft.KeyVault/vaults/certificates/read",
		"Microsoft.KeyVault/vaults/secrets/getSecret/action",
		"Microsoft.KeyVault/vaults/secrets/readMetadata/action",
		"Microsoft.KeyVault/vaults/keys/read"}},
	// Manages role assignments (management actions only): no data actions.
	{name: "Key Vault Data Access Administrator"},
}

// permits applies Azure's rule: some dataAction matches and no
// notDataAction does.
func (r *azureRole) permits(action string) bool {
	return anyAzureMatch(r.dataActions, action) && !anyAzureMatch(r.notDataActions, action)
}

func anyAzureMatch(patterns []string, action string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return azureMatch(p, action) })
}

// azureMatch is Azure's wildcard rule for actions: case-insensitive, and
// '*' matches any run of characters, '/' included.
func azureMatch(pattern, action string) bool {
	parts := strings.Split(strings.ToLower(pattern), "*")
	a := strings.ToLower(action)
	if len(parts) == 1 {
		return parts[0] == a
	}
	if !strings.HasPrefix(a, parts[0]) {
		return false
	}
	a = a[len(parts[0]):]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(a, mid)
		if i < 0 {
			return false
		}
		a = a[i+len(mid):]
	}
	return strings.HasSuffix(a, parts[len(parts)-1])
}

// scopeCovers reports whether an assignment at scope applies to target:
// the same scope or one below it, compared case-insensitively by segment.
func scopeCovers(scope, target string) bool {
	s, tg := strings.TrimSuffix(strings.ToLower(scope), "/"), strings.ToLower(target)
	return s == "" || tg == s || strings.HasPrefix(tg, s+"/")
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

// ---------------------------------------------------------------------------
// Requests.

// matrixRequest is one concrete request for a fixture operation.
type matrixRequest struct {
	op           *kvOperation
	method, path string // path without the query
	scope        string // what it acts on: /vaults/{v} or /vaults/{v}/{collection}/{name}
}

func (r matrixRequest) String() string { return r.method + " " + r.path + " (" + r.op.id + ")" }

var (
	objectParams = []struct{ param, collection string }{
		{"{secret-name}", "secrets"}, {"{key-name}", "keys"}, {"{certificate-name}", "certificates"}}
	versionParam = regexp.MustCompile(`\{[a-z]+-version\}`)
)

// matrixRequests turns every fixture operation into requests on vault: the
// object parameter names matrixObject, and a version parameter is sent
// both with a version and empty (the latest version, as the SDKs send it:
// "/secrets/Target/", "/keys/Target//sign"). The scope of an operation
// that names a secret, key or certificate is that object; every other
// operation (lists, restore, contacts, issuers) acts on the vault.
func matrixRequests(ops []*kvOperation, vault string) []matrixRequest {
	var out []matrixRequest
	for _, op := range ops {
		path, scope := op.path, "/vaults/"+vault
		for _, p := range objectParams {
			if strings.Contains(path, p.param) {
				path = strings.ReplaceAll(path, p.param, matrixObject)
				scope += "/" + p.collection + "/" + strings.ToLower(matrixObject)
			}
		}
		path = strings.ReplaceAll(path, "{issuer-name}", matrixObject)
		if !versionParam.MatchString(path) {
			out = append(out, matrixRequest{op: op, method: op.method, path: path, scope: scope})
			continue
		}
		out = append(out, matrixRequest{op: op, method: op.method, path: versionParam.ReplaceAllString(path, matrixVersion), scope: scope})
		// An attestation request without a version would read as GetKey
		// of version "attestation", in Azure as here.
		if op.id != "GetKeyAttestation" {
			out = append(out, matrixRequest{op: op, method: op.method, path: versionParam.ReplaceAllString(path, ""), scope: scope})
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// Callers and the wire.

// matrixCaller is an application the matrix acts as.
type matrixCaller struct {
	label                   string
	appID, objectID, secret string
	token                   string
	role                    *azureRole // RBAC matrix: its one role, or nil
	scopes                  []string   // where role is assigned
	perms                   vaults.Permissions
	compound                bool   // its access policy names it with applicationId set
	onlyType                string // access-policy matrix: run on this object type's requests only
}

func newMatrixCaller(t *testing.T, srv *testenv.Server, admin, label string) *matrixCaller {
	t.Helper()
	code, app := mgmt(t, srv, admin, "POST", "/identity/applications", toJSON(map[string]string{"displayName": "matrix " + label}))
	if code != http.StatusCreated {
		t.Fatalf("create application %s: %d %v", label, code, app)
	}
	c := &matrixCaller{label: label, appID: app["appId"].(string), objectID: app["objectId"].(string), secret: app["secret"].(string)}
	c.renew(t, srv)
	return c
}

// renew gets a fresh token (after the test moved the clock).
func (c *matrixCaller) renew(t *testing.T, srv *testenv.Server) {
	t.Helper()
	c.token = (&raw{t: t, srv: srv}).fetchToken(c.appID, c.secret, vaultTokenScope)
}

// assign gives the caller role at each scope.
func (c *matrixCaller) assign(t *testing.T, srv *testenv.Server, admin string, role *azureRole, scopes ...string) {
	t.Helper()
	for _, s := range scopes {
		body := toJSON(map[string]string{"principalId": c.objectID, "roleName": role.name, "scope": s})
		if code, a := mgmt(t, srv, admin, "POST", "/authorization/roleAssignments", body); code != http.StatusCreated {
			t.Fatalf("assign %s at %s: %d %v", role.name, s, code, a)
		}
	}
	c.role, c.scopes = role, append(c.scopes, scopes...)
}

// matrixReply is what the matrix reads of a response.
type matrixReply struct {
	status               int
	code, inner, message string
	requestID            string
}

func (r matrixReply) String() string {
	if r.code == "" {
		return strconv.Itoa(r.status)
	}
	return fmt.Sprintf("%d %s/%s", r.status, r.code, r.inner)
}

// send makes one data-plane request with api-version 7.6.
func send(ctx context.Context, client *http.Client, vaultURL, token, method, path, body string) (matrixReply, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	req, err := http.NewRequestWithContext(ctx, method, vaultURL+path+sep+"api-version=7.6", rd)
	if err != nil {
		return matrixReply{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return matrixReply{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return matrixReply{}, err
	}
	var env struct {
		Error struct {
			Code, Message string
			Inner         *struct{ Code string } `json:"innererror"`
		} `json:"error"`
	}
	_ = json.Unmarshal(data, &env)
	out := matrixReply{status: resp.StatusCode, code: env.Error.Code, message: env.Error.Message, requestID: resp.Header.Get("X-Ms-Request-Id")}
	if env.Error.Inner != nil {
		out.inner = env.Error.Inner.Code
	}
	return out, nil
}

// matrixCase is one request one caller sends.
type matrixCase struct {
	who *matrixCaller
	req matrixRequest
	got matrixReply
	err error
}

// runCases sends every case, many at a time over the shared client.
func runCases(srv *testenv.Server, vaultURL string, cases []*matrixCase) {
	ctx := context.Background()
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for _, c := range cases {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c.got, c.err = send(ctx, srv.Client, vaultURL, c.who.token, c.req.method, c.req.path, "")
		}()
	}
	wg.Wait()
}

func casesFor(callers []*matrixCaller, reqs []matrixRequest) []*matrixCase {
	var out []*matrixCase
	for _, who := range callers {
		for _, r := range reqs {
			if who.onlyType == "" || who.onlyType == r.op.objectType() {
				out = append(out, &matrixCase{who: who, req: r})
			}
		}
	}
	return out
}

// problem checks a case against its expected decision: allowed means
// neither 401 nor 403; denied means 403 with Azure's Forbidden error and
// the inner code of the vault's model.
func (c *matrixCase) problem(allowed bool, deniedInner string) string {
	switch {
	case c.err != nil:
		return c.err.Error()
	case allowed && (c.got.status == http.StatusUnauthorized || c.got.status == http.StatusForbidden):
		return fmt.Sprintf("got %s, want allowed", c.got)
	case !allowed && (c.got.status != http.StatusForbidden || c.got.code != "Forbidden" || c.got.inner != deniedInner):
		return fmt.Sprintf("got %s, want 403 Forbidden/%s", c.got, deniedInner)
	}
	return ""
}

// report collects the discrepancies of a matrix and prints them sorted.
type report struct{ lines []string }

func (r *report) add(format string, args ...any) {
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}

func (r *report) fail(t *testing.T, what string) {
	t.Helper()
	if len(r.lines) == 0 {
		return
	}
	sort.Strings(r.lines)
	r.lines = slices.Compact(r.lines)
	const most = 150
	shown := r.lines
	if len(shown) > most {
		shown = shown[:most]
	}
	t.Errorf("%s: %d discrepancies with Azure's documented authorization:\n%s", what, len(r.lines), strings.Join(shown, "\n"))
}

func createVault(t *testing.T, srv *testenv.Server, spec vaults.Spec) {
	t.Helper()
	if _, err := srv.App.Vaults().Create(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
}

// ---------------------------------------------------------------------------
// The route table against the fixture.

// declaredRoute is a data-plane route as internal/httpapi declares it.
type declaredRoute struct {
	method, pattern, op, action string
	pos                         string
}

// TestAuthorizationMatrixRoutesMatchFixture reads the data-plane route
// table from internal/httpapi's source (it is unexported): every route
// declares an action, names an operation of the fixture, declares the
// data action Azure documents for it, and is reached by a request of the
// matrix; every fixture operation has a route.
func TestAuthorizationMatrixRoutesMatchFixture(t *testing.T) {
	ops := loadOperations(t)
	byID := map[string]*kvOperation{}
	for _, op := range ops {
		byID[op.id] = op
	}
	routes := declaredDataRoutes(t)
	if len(routes) < len(ops) {
		t.Fatalf("read %d data-plane routes from internal/httpapi, fewer than the fixture's %d operations: the scan is broken", len(routes), len(ops))
	}
	reqs := matrixRequests(ops, "v")
	var rep report
	served := map[string]bool{}
	for _, r := range routes {
		op, ok := byID[r.op]
		served[r.op] = ok
		switch {
		case r.action == "":
			rep.add("%s %s (%s, %s): no action", r.method, r.pattern, r.op, r.pos)
			continue
		case !ok:
			rep.add("%s %s (%s, %s): operation %q is not in the fixture", r.method, r.pattern, r.op, r.pos, r.op)
			continue
		case op.hsmOnly():
			t.Logf("not Azure's on vaults: %s %s (%s) declares %s; Azure serves %s on Managed HSM only (%s)",
				r.method, r.pattern, r.op, r.action, r.op, op.dataAction)
		case !strings.EqualFold(r.action, op.dataAction):
			rep.add("%s %s (%s, %s): action %s, Azure documents %s", r.method, r.pattern, r.op, r.pos, r.action, op.dataAction)
		}
		if !slices.ContainsFunc(reqs, func(q matrixRequest) bool { return q.op.id == r.op && q.method == r.method && fits(r.pattern, q.path) }) {
			rep.add("%s %s (%s, %s): no matrix request reaches it", r.method, r.pattern, r.op, r.pos)
		}
	}
	for _, op := range ops {
		if !served[op.id] {
			rep.add("%s %s (%s): in the fixture, but no route serves it", op.method, op.path, op.id)
		}
	}
	rep.fail(t, "route table")
	t.Logf("%d data-plane routes, %d fixture operations, %d matrix requests", len(routes), len(ops), len(reqs))
}

// fits reports whether path has pattern's shape: as many non-empty
// segments, literals equal regardless of case.
func fits(pattern, path string) bool {
	split := func(s string) []string {
		return slices.DeleteFunc(strings.Split(s, "/"), func(x string) bool { return x == "" })
	}
	p, q := split(pattern), split(path)
	if len(p) != len(q) {
		return false
	}
	for i := range p {
		if !strings.HasPrefix(p[i], "{") && !strings.EqualFold(p[i], q[i]) {
			return false
		}
	}
	return true
}

// routeScan reads route literals from a package's source.
type routeScan struct {
	fset   *token.FileSet
	funcs  map[string]*ast.FuncDecl
	consts map[string]ast.Expr
	routes []declaredRoute
	errs   []string
}

// declaredDataRoutes parses internal/httpapi and returns the routes built
// by dataRoutes and the functions it calls: every composite literal with
// method and pattern keys, evaluating string constants and the fields of
// a ranged-over literal table (the crypto operations).
func declaredDataRoutes(t *testing.T) []declaredRoute {
	t.Helper()
	dir := filepath.Join("..", "httpapi")
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	s := &routeScan{fset: token.NewFileSet(), funcs: map[string]*ast.FuncDecl{}, consts: map[string]ast.Expr{}}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(s.fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		s.collect(f)
	}
	root, ok := s.funcs["dataRoutes"]
	if !ok {
		t.Fatal("internal/httpapi has no dataRoutes function: update the route scan")
	}
	s.scanFunc(root, map[string]bool{})
	if len(s.errs) > 0 {
		t.Fatalf("reading the route table:\n%s", strings.Join(s.errs, "\n"))
	}
	return s.routes
}

func (s *routeScan) collect(f *ast.File) {
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				s.funcs[d.Name.Name] = d
			}
		case *ast.GenDecl:
			if d.Tok != token.CONST {
				continue
			}
			for _, spec := range d.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						s.consts[n.Name] = vs.Values[i]
					}
				}
			}
		}
	}
}

// scanFunc records the routes fn builds and scans the package functions
// it calls.
func (s *routeScan) scanFunc(fn *ast.FuncDecl, seen map[string]bool) {
	if seen[fn.Name.Name] {
		return
	}
	seen[fn.Name.Name] = true
	s.scanNode(fn.Body, nil)
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			if id, ok := call.Fun.(*ast.Ident); ok {
				if callee, ok := s.funcs[id.Name]; ok {
					s.scanFunc(callee, seen)
				}
			}
		}
		return true
	})
}

// scanNode records route literals under n; env binds the loop variable of
// a range over a literal table to one row's fields.
func (s *routeScan) scanNode(n ast.Node, env map[string]map[string]ast.Expr) {
	ast.Inspect(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false // handlers
		case *ast.RangeStmt:
			rows, ok := s.tableRows(n)
			if !ok {
				return true
			}
			for _, row := range rows {
				inner := map[string]map[string]ast.Expr{n.Value.(*ast.Ident).Name: row}
				for k, v := range env {
					inner[k] = v
				}
				s.scanNode(n.Body, inner)
			}
			return false
		case *ast.CompositeLit:
			if fields := keyed(n); fields["method"] != nil && fields["pattern"] != nil {
				s.addRoute(n, fields, env)
				return false
			}
		}
		return true
	})
}

// tableRows returns the rows of `for _, v := range []struct{a, b T}{{...}}`
// as field name → expression.
func (s *routeScan) tableRows(rs *ast.RangeStmt) ([]map[string]ast.Expr, bool) {
	lit, ok := rs.X.(*ast.CompositeLit)
	if !ok || rs.Value == nil {
		return nil, false
	}
	arr, ok := lit.Type.(*ast.ArrayType)
	if !ok {
		return nil, false
	}
	st, ok := arr.Elt.(*ast.StructType)
	if !ok {
		return nil, false
	}
	var names []string
	for _, f := range st.Fields.List {
		for _, n := range f.Names {
			names = append(names, n.Name)
		}
	}
	var rows []map[string]ast.Expr
	for _, el := range lit.Elts {
		row := map[string]ast.Expr{}
		for i, v := range el.(*ast.CompositeLit).Elts {
			if kv, ok := v.(*ast.KeyValueExpr); ok {
				row[kv.Key.(*ast.Ident).Name] = kv.Value
			} else if i < len(names) {
				row[names[i]] = v
			}
		}
		rows = append(rows, row)
	}
	return rows, true
}

func keyed(lit *ast.CompositeLit) map[string]ast.Expr {
	out := map[string]ast.Expr{}
	for _, el := range lit.Elts {
		if kv, ok := el.(*ast.KeyValueExpr); ok {
			if id, ok := kv.Key.(*ast.Ident); ok {
				out[id.Name] = kv.Value
			}
		}
	}
	return out
}

func (s *routeScan) addRoute(lit *ast.CompositeLit, fields map[string]ast.Expr, env map[string]map[string]ast.Expr) {
	pos := s.fset.Position(lit.Pos())
	r := declaredRoute{pos: filepath.Base(pos.Filename) + ":" + strconv.Itoa(pos.Line)}
	for name, dst := range map[string]*string{"method": &r.method, "pattern": &r.pattern, "op": &r.op, "action": &r.action} {
		e, ok := fields[name]
		if !ok {
			continue // an absent action stays empty and is reported
		}
		v, ok := s.eval(e, env)
		if !ok {
			s.errs = append(s.errs, fmt.Sprintf("%s: cannot evaluate the route's %s", r.pos, name))
		}
		*dst = v
	}
	s.routes = append(s.routes, r)
}

// eval evaluates a string expression of literals, package constants,
// concatenations and fields of the bound table row.
func (s *routeScan) eval(e ast.Expr, env map[string]map[string]ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		v, err := strconv.Unquote(e.Value)
		return v, err == nil
	case *ast.Ident:
		if c, ok := s.consts[e.Name]; ok {
			return s.eval(c, env)
		}
	case *ast.ParenExpr:
		return s.eval(e.X, env)
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			a, ok1 := s.eval(e.X, env)
			b, ok2 := s.eval(e.Y, env)
			return a + b, ok1 && ok2
		}
	case *ast.SelectorExpr:
		if id, ok := e.X.(*ast.Ident); ok && env[id.Name] != nil {
			if v, ok := env[id.Name][e.Sel.Name]; ok {
				return s.eval(v, env)
			}
		}
	}
	return "", false
}

// ---------------------------------------------------------------------------
// RBAC.

// matrixScopeKinds are the four assignment scopes of the RBAC matrix.
func matrixScopeKinds(vault string) []struct {
	kind   string
	scopes []string
} {
	objects := func(name string) []string {
		var out []string
		for _, c := range objectTypes {
			out = append(out, "/vaults/"+vault+"/"+c+"/"+name)
		}
		return out
	}
	return []struct {
		kind   string
		scopes []string
	}{
		{"server", []string{"/"}},
		{"vault", []string{"/vaults/" + vault}},
		{"object", objects(strings.ToLower(matrixObject))},
		{"sibling", objects(matrixSibling)},
	}
}

// rbacAllows is the oracle's RBAC decision: some assignment's scope
// covers what the request acts on, and its role permits the data action.
func rbacAllows(c *matrixCaller, r matrixRequest) bool {
	if c.role == nil || !c.role.permits(r.op.dataAction) {
		return false
	}
	return slices.ContainsFunc(c.scopes, func(s string) bool { return scopeCovers(s, r.scope) })
}

// rbacSurelyDenies is what holds under any reading of an operation Azure
// documents for Managed HSM only (GetRandomBytes): no role, a role without
// data actions, or no assignment whose scope covers the request means no
// access.
func rbacSurelyDenies(c *matrixCaller, r matrixRequest) bool {
	return c.role == nil || len(c.role.dataActions) == 0 ||
		!slices.ContainsFunc(c.scopes, func(s string) bool { return scopeCovers(s, r.scope) })
}

var actionInMessage = regexp.MustCompile(`Action: '([^']*)'`)

// TestAuthorizationMatrixRBAC drives every route as every built-in Key
// Vault data role assigned at the server, the vault, the object the
// request names and a sibling object, and as an application without any
// role.
func TestAuthorizationMatrixRBAC(t *testing.T) {
	t.Parallel()
	ops := loadOperations(t)
	srv := testenv.StartDev(t)
	admin := newRaw(t, srv).token
	const vault = "matrix"
	createVault(t, srv, vaults.Spec{Name: vault})
	reqs := matrixRequests(ops, vault)

	var callers []*matrixCaller
	for i := range keyVaultDataRoles {
		role := &keyVaultDataRoles[i]
		for _, sk := range matrixScopeKinds(vault) {
			c := newMatrixCaller(t, srv, admin, role.name+" @ "+sk.kind)
			c.assign(t, srv, admin, role, sk.scopes...)
			callers = append(callers, c)
		}
	}
	none := newMatrixCaller(t, srv, admin, "no role")
	callers = append(callers, none)

	cases := casesFor(callers, reqs)
	runCases(srv, srv.VaultURL(vault), cases)

	var rep report
	hsm := map[string][]string{} // Managed HSM only operation → who keyhaven allowed
	ids := map[string]string{}   // request id of the role-less caller → operation
	for _, c := range cases {
		if c.who == none && c.err == nil {
			ids[c.got.requestID] = c.req.op.id
			if !c.req.op.hsmOnly() {
				checkDeniedAction(&rep, c)
			}
		}
		if c.req.op.hsmOnly() {
			if rbacSurelyDenies(c.who, c.req) {
				if p := c.problem(false, "ForbiddenByRbac"); p != "" {
					rep.add("%-60s | %-45s | %s", c.req, c.who.label, p)
				}
			} else if c.got.status != http.StatusForbidden {
				hsm[c.req.String()] = append(hsm[c.req.String()], c.who.label)
			}
			continue
		}
		if p := c.problem(rbacAllows(c.who, c.req), "ForbiddenByRbac"); p != "" {
			rep.add("%-60s | %-45s | %s (%s)", c.req, c.who.label, p, c.req.op.dataAction)
		}
	}
	for _, p := range auditOperations(t, srv, ids) {
		rep.add("%s", p)
	}
	for r, who := range hsm {
		sort.Strings(who)
		t.Logf("outside Azure's documentation (Managed HSM only): %s allowed on a vault for %s", r, strings.Join(who, ", "))
	}
	rep.fail(t, "RBAC matrix")
	t.Logf("RBAC matrix: %d requests (%d fixture operations) × (%d roles × %d scopes + 1 role-less application) = %d cases",
		len(reqs), len(ops), len(keyVaultDataRoles), len(matrixScopeKinds(vault)), len(cases))
}

// checkDeniedAction reads the action a denial names (Azure's message has
// "Action: '...'"): the route's declared action, which must be the one
// Azure documents for the operation.
func checkDeniedAction(rep *report, c *matrixCase) {
	named := "(none)"
	if m := actionInMessage.FindStringSubmatch(c.got.message); m != nil {
		named = m[1]
	}
	if !strings.EqualFold(named, c.req.op.dataAction) {
		rep.add("%-60s | the denial names action %q, Azure documents %s", c.req, named, c.req.op.dataAction)
	}
}

// auditOperations waits for the audit records of the given requests and
// returns where their operation name differs from the fixture's.
func auditOperations(t *testing.T, srv *testenv.Server, want map[string]string) []string {
	t.Helper()
	pending := maps.Clone(want)
	var out []string
	for deadline := time.Now().Add(15 * time.Second); len(pending) > 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		data, err := os.ReadFile(srv.Info.AuditFile)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			var rec audit.Record
			if json.Unmarshal(line, &rec) != nil || rec.Category != audit.CategoryAuditEvent {
				continue // a checkpoint, or a line still being written
			}
			op, ok := pending[rec.Properties.RequestID]
			if !ok {
				continue
			}
			delete(pending, rec.Properties.RequestID)
			if rec.OperationName != op {
				out = append(out, fmt.Sprintf("request %s for %s: audited as operation %q", rec.Properties.RequestID, op, rec.OperationName))
			}
		}
	}
	for id, op := range pending {
		out = append(out, fmt.Sprintf("request %s for %s: no audit record", id, op))
	}
	return out
}

// ---------------------------------------------------------------------------
// Access policies.

// apAllows is the oracle's access-policy decision for a caller's one entry:
// defined reports whether the sources settle it (a permission the spec
// text also names, or an operation Azure serves on Managed HSM only, is
// not settled, unless the caller holds nothing that could grant it).
func apAllows(c *matrixCaller, r matrixRequest) (allowed, defined bool) {
	if c.compound || isEmptyPermissions(c.perms) {
		return false, true // an application is never the user of a compound entry
	}
	if r.op.hsmOnly() {
		return false, false
	}
	list := permissionList(c.perms, r.op.objectType())
	switch {
	case containsFold(list, "all") || containsFold(list, r.op.permName()):
		return true, true
	case slices.ContainsFunc(r.op.alsoNamed, func(n string) bool { return containsFold(list, n) }):
		return false, false
	}
	return false, true
}

func permissionList(p vaults.Permissions, objectType string) []string {
	switch objectType {
	case "keys":
		return p.Keys
	case "secrets":
		return p.Secrets
	case "certificates":
		return p.Certificates
	}
	return nil
}

func isEmptyPermissions(p vaults.Permissions) bool {
	return len(p.Keys)+len(p.Secrets)+len(p.Certificates)+len(p.Storage) == 0
}

func permissionsOf(objectType string, names ...string) vaults.Permissions {
	var p vaults.Permissions
	switch objectType {
	case "keys":
		p.Keys = names
	case "secrets":
		p.Secrets = names
	case "certificates":
		p.Certificates = names
	}
	return p
}

var fullPermissions = vaults.Permissions{Keys: []string{"all"}, Secrets: []string{"all"}, Certificates: []string{"all"}, Storage: []string{"all"}}

// accessPolicyCallers creates the applications of the access-policy
// matrix: one per permission name holding only it; per operation, one
// holding every other permission of its type (but those its spec text
// also names); one per type holding "all"; one holding everything; one
// holding everything through a compound entry (applicationId set).
func accessPolicyCallers(t *testing.T, srv *testenv.Server, admin string, ops []*kvOperation) (single, others, alls []*matrixCaller, full, compound *matrixCaller) {
	t.Helper()
	for _, typ := range objectTypes {
		for _, name := range accessPolicyPermissions[typ] {
			c := newMatrixCaller(t, srv, admin, "policy "+typ+"/"+name)
			c.perms = permissionsOf(typ, name)
			single = append(single, c)
		}
		c := newMatrixCaller(t, srv, admin, "policy "+typ+"/all")
		c.perms = permissionsOf(typ, "all")
		alls = append(alls, c)
	}
	seen := map[string]bool{}
	for _, op := range ops {
		key := op.permission + " " + strings.Join(op.alsoNamed, ",")
		if op.hsmOnly() || seen[key] {
			continue
		}
		seen[key] = true
		var rest []string
		for _, n := range accessPolicyPermissions[op.objectType()] {
			if !strings.EqualFold(n, op.permName()) && !containsFold(op.alsoNamed, n) {
				rest = append(rest, n)
			}
		}
		c := newMatrixCaller(t, srv, admin, "policy "+op.objectType()+" but "+strings.Join(append([]string{op.permName()}, op.alsoNamed...), ", "))
		c.perms, c.onlyType = permissionsOf(op.objectType(), rest...), op.objectType()
		others = append(others, c)
	}
	full = newMatrixCaller(t, srv, admin, "policy all (everything)")
	full.perms = fullPermissions
	compound = newMatrixCaller(t, srv, admin, "compound entry, all")
	compound.perms, compound.compound = fullPermissions, true
	return single, others, alls, full, compound
}

// accessPolicyEntries are the vault's access policies for the callers.
func accessPolicyEntries(tenant string, callers []*matrixCaller) []vaults.AccessPolicy {
	var out []vaults.AccessPolicy
	for _, c := range callers {
		if isEmptyPermissions(c.perms) {
			continue
		}
		e := vaults.AccessPolicy{TenantID: tenant, ObjectID: c.objectID, Permissions: c.perms}
		if c.compound {
			e.ApplicationID = c.appID // this application's own id: a user through it, never the application
		}
		out = append(out, e)
	}
	return out
}

// setRBAC switches the vault's permission model.
func setRBAC(t *testing.T, srv *testenv.Server, vault string, on bool, policies []vaults.AccessPolicy) {
	t.Helper()
	_, err := srv.App.Vaults().Update(context.Background(), vault, func(v *vaults.Vault) error {
		v.RBACAuthorization = on
		if policies != nil {
			v.AccessPolicies = policies
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAuthorizationMatrixAccessPolicy drives every route on a vault that
// uses the access-policy model: exactly the documented permission allows,
// every other permission of the type (and of the other types) denies,
// "all" allows, a compound entry does not admit the application itself.
// Then neither model grants what the other denies: on that vault a Key
// Vault Administrator without an access policy is denied everything; back
// on RBAC, a caller with a full access policy but no role is denied
// everything, and a caller holding both is judged by the active model
// only.
func TestAuthorizationMatrixAccessPolicy(t *testing.T) {
	t.Parallel()
	ops := loadOperations(t)
	srv := testenv.StartDev(t)
	admin := newRaw(t, srv).token
	const vault = "apmatrix"
	createVault(t, srv, vaults.Spec{Name: vault})
	reqs := matrixRequests(ops, vault)
	single, others, alls, full, compound := accessPolicyCallers(t, srv, admin, ops)
	administrator := newMatrixCaller(t, srv, admin, "Key Vault Administrator @ server, no policy")
	administrator.assign(t, srv, admin, roleNamed(t, "Key Vault Administrator"), "/")
	mixed := newMatrixCaller(t, srv, admin, "Key Vault Reader @ server + policy secrets/all")
	mixed.assign(t, srv, admin, roleNamed(t, "Key Vault Reader"), "/")
	mixed.perms = permissionsOf("secrets", "all")

	policyCallers := slices.Concat(single, others, alls, []*matrixCaller{full, compound, mixed})
	setRBAC(t, srv, vault, false, accessPolicyEntries(srv.Info.TenantID, policyCallers))
	phase1 := casesFor(append(policyCallers, administrator), reqs)
	runCases(srv, srv.VaultURL(vault), phase1)
	var rep report
	undecided := map[string]string{} // operation and caller → keyhaven's decision
	hsm := map[string][]string{}     // Managed HSM only operation → callers keyhaven allowed
	for _, c := range phase1 {
		want, defined := apAllows(c.who, c.req)
		switch {
		case !defined && c.req.op.hsmOnly():
			if c.got.status != http.StatusForbidden {
				hsm[c.req.String()] = append(hsm[c.req.String()], c.who.label)
			}
			continue
		case !defined:
			verdict := "denies"
			if c.got.status != http.StatusForbidden {
				verdict = "allows"
			}
			undecided[fmt.Sprintf("%s (%s) with %s", c.req, c.req.op.specText, c.who.label)] = verdict
			continue
		}
		if p := c.problem(want, "AccessDenied"); p != "" {
			rep.add("access policies | %-60s | %-45s | %s (%s)", c.req, c.who.label, p, c.req.op.permission)
		}
	}

	// Back on RBAC: the access policies stay, inert.
	setRBAC(t, srv, vault, true, nil)
	phase2 := casesFor(slices.Concat(alls, []*matrixCaller{full, compound, mixed, administrator}), reqs)
	runCases(srv, srv.VaultURL(vault), phase2)
	for _, c := range phase2 {
		if c.req.op.hsmOnly() && !rbacSurelyDenies(c.who, c.req) {
			continue // outside Azure's documentation, reported by the RBAC matrix
		}
		if p := c.problem(rbacAllows(c.who, c.req), "ForbiddenByRbac"); p != "" {
			rep.add("RBAC again      | %-60s | %-45s | %s", c.req, c.who.label, p)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(undecided)) {
		t.Logf("not settled by the fixture: %s: keyhaven %s", k, undecided[k])
	}
	for r, who := range hsm {
		t.Logf("outside Azure's documentation (Managed HSM only): %s allowed on an access-policy vault for %s",
			r, strings.Join(slices.Compact(slices.Sorted(slices.Values(who))), ", "))
	}
	rep.fail(t, "access-policy matrix")
	t.Logf("access-policy matrix: %d cases on the access-policy model (%d callers), %d after switching back to RBAC",
		len(phase1), len(policyCallers)+1, len(phase2))
}

func roleNamed(t *testing.T, name string) *azureRole {
	t.Helper()
	for i := range keyVaultDataRoles {
		if keyVaultDataRoles[i].name == name {
			return &keyVaultDataRoles[i]
		}
	}
	t.Fatalf("no role %q", name)
	return nil
}

// ---------------------------------------------------------------------------
// Purge protection.

// guardedKinds are the object collections of the purge-protection test:
// how to create one object and which operation purges it.
var guardedKinds = []struct {
	collection, purgeID, method, create, body string
}{
	{"secrets", "PurgeDeletedSecret", "PUT", "/secrets/%s", `{"value":"guarded"}`},
	{"keys", "PurgeDeletedKey", "POST", "/keys/%s/create", `{"kty":"EC","crv":"P-256"}`},
	{"certificates", "PurgeDeletedCertificate", "POST", "/certificates/%s/create",
		`{"policy":{"issuer":{"name":"Self"},"key_props":{"kty":"EC","crv":"P-256","exportable":true},"x509_props":{"subject":"CN=guarded","validity_months":12}}}`},
}

// guardedObject is a soft-deleted object and the caller that tries to
// purge it.
type guardedObject struct {
	collection, name string
	who              *matrixCaller
	scheduled        time.Time
}

// TestPurgeProtectionHoldsAgainstEveryRole: on a vault with purge
// protection, no role purges a soft-deleted secret, key or certificate
// before its scheduled purge date, Key Vault Administrator included; once
// the clock is past that date, every role with the purge data action can.
func TestPurgeProtectionHoldsAgainstEveryRole(t *testing.T) {
	t.Parallel()
	ops := loadOperations(t)
	srv, clock := testenv.StartDevWithClock(t)
	const vault = "guarded"
	createVault(t, srv, vaults.Spec{Name: vault, SoftDeleteRetentionDays: vaults.MinRetentionDays, PurgeProtection: true})
	admin := &matrixCaller{label: "dev admin", appID: srv.Info.ClientID, secret: srv.Info.ClientSecret}
	admin.renew(t, srv)
	callers := map[string]*matrixCaller{}
	var objects []*guardedObject
	for _, kind := range guardedKinds {
		purge := operationByID(t, ops, kind.purgeID)
		var holders []*azureRole
		for i := range keyVaultDataRoles {
			if keyVaultDataRoles[i].permits(purge.dataAction) {
				holders = append(holders, &keyVaultDataRoles[i])
			}
		}
		if !slices.ContainsFunc(holders, func(r *azureRole) bool { return r.name == "Key Vault Administrator" }) {
			t.Fatalf("Key Vault Administrator does not hold %s", purge.dataAction)
		}
		for _, role := range holders {
			who := callers[role.name]
			if who == nil {
				who = newMatrixCaller(t, srv, admin.token, role.name+" @ vault "+vault)
				who.assign(t, srv, admin.token, role, "/vaults/"+vault)
				callers[role.name] = who
			}
			name := fmt.Sprintf("%s-%d", kind.collection, len(objects))
			objects = append(objects, softDeleted(t, srv, vault, admin, kind.method, kind.collection, name, kind.body, kind.create, who))
		}
	}
	renewAll := func() {
		admin.renew(t, srv)
		for _, c := range callers {
			c.renew(t, srv)
		}
	}

	checkPurges(t, srv, vault, admin, objects, "right after deletion", false)
	clock.Advance(objects[0].scheduled.Sub(clock.Now()) - time.Minute)
	renewAll() // the tokens expired with the clock
	checkPurges(t, srv, vault, admin, objects, "a minute before the scheduled purge date", false)
	// The server's scheduler, which would purge them itself, next runs a
	// minute of real time after the server started.
	clock.Advance(2 * time.Minute)
	renewAll()
	checkPurges(t, srv, vault, admin, objects, "after the scheduled purge date", true)
	t.Logf("purge protection: %d soft-deleted objects, each purged by a role with the purge data action, at 3 points in time", len(objects))
}

func operationByID(t *testing.T, ops []*kvOperation, id string) *kvOperation {
	t.Helper()
	i := slices.IndexFunc(ops, func(o *kvOperation) bool { return o.id == id })
	if i < 0 {
		t.Fatalf("no %s in the fixture", id)
	}
	return ops[i]
}

// softDeleted creates an object as admin, deletes it and returns it with
// its scheduled purge date.
func softDeleted(t *testing.T, srv *testenv.Server, vault string, admin *matrixCaller, method, collection, name, body, create string, who *matrixCaller) *guardedObject {
	t.Helper()
	ctx, url := context.Background(), srv.VaultURL(vault)
	if rep, err := send(ctx, srv.Client, url, admin.token, method, fmt.Sprintf(create, name), body); err != nil || rep.status/100 != 2 {
		t.Fatalf("create %s/%s: %v %v %s", collection, name, err, rep, rep.message)
	}
	req, _ := http.NewRequest("DELETE", url+"/"+collection+"/"+name+"?api-version=7.6", nil)
	req.Header.Set("Authorization", "Bearer "+admin.token)
	resp, err := srv.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var deleted struct {
		ScheduledPurgeDate int64 `json:"scheduledPurgeDate"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&deleted); err != nil || resp.StatusCode != http.StatusOK || deleted.ScheduledPurgeDate == 0 {
		t.Fatalf("delete %s/%s: %d %v %+v", collection, name, resp.StatusCode, err, deleted)
	}
	return &guardedObject{collection: collection, name: name, who: who, scheduled: time.Unix(deleted.ScheduledPurgeDate, 0)}
}

// checkPurges has every object's caller purge it: refused by purge
// protection (an authorized caller, so not ForbiddenByRbac) with the
// object kept, or, when allowed, purged for good.
func checkPurges(t *testing.T, srv *testenv.Server, vault string, admin *matrixCaller, objects []*guardedObject, when string, allowed bool) {
	t.Helper()
	ctx, url := context.Background(), srv.VaultURL(vault)
	for _, o := range objects {
		deleted := "/deleted" + o.collection + "/" + o.name
		rep, err := send(ctx, srv.Client, url, o.who.token, "DELETE", deleted, "")
		if err != nil {
			t.Fatal(err)
		}
		after, err := send(ctx, srv.Client, url, admin.token, "GET", deleted, "")
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case allowed && (rep.status != http.StatusNoContent || after.status != http.StatusNotFound):
			t.Errorf("%s: purge %s as %s: %v, then GET: %v; want 204, then 404", when, deleted, o.who.label, rep, after)
		case !allowed && (rep.status != http.StatusForbidden || rep.code != "Forbidden" || rep.inner == "ForbiddenByRbac" ||
			!strings.Contains(strings.ToLower(rep.message), "purge protection")):
			t.Errorf("%s: purge %s as %s: %v %q; want 403 Forbidden refused by purge protection", when, deleted, o.who.label, rep, rep.message)
		case !allowed && after.status != http.StatusOK:
			t.Errorf("%s: %s after a refused purge: %v, want 200", when, deleted, after)
		}
	}
}
