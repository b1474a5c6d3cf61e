package provider

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/store"
)

// privateState is the part of the framework's private state that resources
// use; Create, Read and Update responses all provide it.
type privateState interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

// versionKey holds the store version of the document a state was read from,
// so an update does not silently overwrite a change made in between.
const versionKey = "document_version"

// documents is what every tajo_* resource does with the store: one config
// object per resource, one document per object.
type documents struct {
	kind     string
	typeName string
	store    store.Store
}

func (d *documents) configure(data any, diags *diag.Diagnostics) {
	if data == nil {
		return // ValidateResourceConfig runs before the provider is configured
	}
	pd, ok := data.(*providerData)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("expected *providerData, got %T; please report this issue", data))
		return
	}
	d.store = pd.store
}

func (d *documents) ready(diags *diag.Diagnostics) bool {
	if d.store == nil {
		diags.AddError("Provider not configured", "The tajo provider has no store; set its store attribute or "+EnvStore+".")
		return false
	}
	return true
}

func (d *documents) remember(ctx context.Context, priv privateState, doc store.Document, diags *diag.Diagnostics) {
	diags.Append(priv.SetKey(ctx, versionKey, []byte(strconv.FormatInt(doc.Version, 10)))...)
}

func (d *documents) expected(ctx context.Context, priv privateState, diags *diag.Diagnostics) int64 {
	b, ds := priv.GetKey(ctx, versionKey)
	diags.Append(ds...)
	if v, err := strconv.ParseInt(string(b), 10, 64); err == nil && v > 0 {
		return v
	}
	return store.AnyVersion // state written before versions were kept
}

// create writes a new document; an existing one is an error that says how
// to adopt it.
func (d *documents) create(ctx context.Context, obj store.Object, priv privateState, diags *diag.Diagnostics) bool {
	if !d.ready(diags) {
		return false
	}
	doc, err := store.Save(ctx, d.store, obj, store.MustNotExist)
	if errors.Is(err, store.ErrConflict) {
		diags.AddError(fmt.Sprintf("%s %q already exists", d.typeName, obj.ID()),
			fmt.Sprintf("The store already holds this object (created by another configuration, or by hand). "+
				"Adopt it with: terraform import %s.<name> %s", d.typeName, obj.ID()))
		return false
	}
	if err != nil {
		diags.AddError(fmt.Sprintf("Cannot create %s %q", d.typeName, obj.ID()), err.Error())
		return false
	}
	d.remember(ctx, priv, doc, diags)
	return true
}

// update replaces the document the state was read from.
func (d *documents) update(ctx context.Context, obj store.Object, old privateState, priv privateState, diags *diag.Diagnostics) bool {
	if !d.ready(diags) {
		return false
	}
	doc, err := store.Save(ctx, d.store, obj, d.expected(ctx, old, diags))
	switch {
	case errors.Is(err, store.ErrConflict):
		diags.AddError(fmt.Sprintf("%s %q changed in the store", d.typeName, obj.ID()),
			"Someone else wrote this object after Terraform read it. Run terraform plan again to see the change, then apply.")
		return false
	case errors.Is(err, store.ErrNotFound):
		diags.AddError(fmt.Sprintf("%s %q was deleted from the store", d.typeName, obj.ID()),
			"The object disappeared after Terraform read it. Run terraform apply again to re-create it.")
		return false
	case err != nil:
		diags.AddError(fmt.Sprintf("Cannot update %s %q", d.typeName, obj.ID()), err.Error())
		return false
	}
	d.remember(ctx, priv, doc, diags)
	return true
}

// read loads the document behind a state. found is false (and no error is
// added) when it is gone, so the caller removes the resource from state and
// the next plan re-creates it.
func read[T any](ctx context.Context, d *documents, id string, priv privateState, diags *diag.Diagnostics) (obj T, found bool) {
	if !d.ready(diags) {
		return obj, false
	}
	obj, doc, err := store.Load[T](ctx, d.store, d.kind, id)
	if errors.Is(err, store.ErrNotFound) {
		return obj, false
	}
	if err != nil {
		diags.AddError(fmt.Sprintf("Cannot read %s %q", d.typeName, id), err.Error())
		return obj, false
	}
	if priv != nil {
		d.remember(ctx, priv, doc, diags)
	}
	return obj, true
}

func (d *documents) delete(ctx context.Context, id string, diags *diag.Diagnostics) {
	if !d.ready(diags) {
		return
	}
	err := d.store.DeleteDocument(ctx, d.kind, id, store.AnyVersion)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		diags.AddError(fmt.Sprintf("Cannot delete %s %q", d.typeName, id), err.Error())
	}
}

// importID validates an import ID with its parser and stores it as "id".
func importID(ctx context.Context, id string, parse func(string) error, resp *resource.ImportStateResponse) {
	if err := parse(id); err != nil {
		resp.Diagnostics.AddError("Invalid import ID", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
}

// unknowns collects the attribute paths whose values are not known yet
// while a model is converted to a config object, so that validation does
// not complain about values Terraform will only know after apply.
type unknowns map[string]bool

func (u unknowns) str(p string, v types.String) string {
	if v.IsUnknown() {
		u[p] = true
	}
	return v.ValueString()
}

func (u unknowns) boolean(p string, v types.Bool, def bool) bool {
	if v.IsUnknown() {
		u[p] = true
		return def
	}
	if v.IsNull() {
		return def
	}
	return v.ValueBool()
}

func (u unknowns) int64(p string, v types.Int64) int64 {
	if v.IsUnknown() {
		u[p] = true
	}
	return v.ValueInt64()
}

func (u unknowns) strings(ctx context.Context, p string, v types.List, diags *diag.Diagnostics) []string {
	if v.IsUnknown() {
		u[p] = true
		return nil
	}
	if v.IsNull() {
		return nil
	}
	out := make([]string, 0, len(v.Elements()))
	for i, e := range v.Elements() {
		s, ok := e.(types.String)
		if !ok {
			diags.AddAttributeError(path.Root(p), "Unexpected element type", fmt.Sprintf("%T", e))
			continue
		}
		if s.IsUnknown() {
			u[fmt.Sprintf("%s[%d]", p, i)] = true
		}
		out = append(out, s.ValueString())
	}
	return out
}

// covers reports whether the problem at p concerns an unknown value.
func (u unknowns) covers(p string) bool {
	for cur := p; cur != ""; {
		if u[cur] {
			return true
		}
		i := strings.LastIndexAny(cur, ".[")
		if i < 0 {
			return false
		}
		cur = cur[:i]
	}
	return false
}

// addProblems turns config.Problems into attribute diagnostics, so plan
// shows exactly the message the agent would log, at the right attribute.
func addProblems(diags *diag.Diagnostics, err error, u unknowns) {
	if err == nil {
		return
	}
	var ps config.Problems
	if !errors.As(err, &ps) {
		diags.AddError("Invalid configuration", err.Error())
		return
	}
	for _, p := range ps {
		if u.covers(p.Path) {
			continue
		}
		diags.AddAttributeError(attrPath(p.Path), "Invalid "+summaryName(p.Path), p.Message)
	}
}

func summaryName(p string) string {
	if p == "" {
		return "configuration"
	}
	return p
}

// attrPath parses "intercom.base_url" or "topics[2]" into a path.
func attrPath(p string) path.Path {
	var out path.Path
	first := true
	for _, part := range strings.Split(p, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if first {
			out = path.Root(name)
			first = false
		} else {
			out = out.AtName(name)
		}
		for rest != "" {
			idx, after, _ := strings.Cut(rest, "]")
			if n, err := strconv.Atoi(idx); err == nil {
				out = out.AtListIndex(n)
			}
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return out
}

// nullIfEmpty maps the zero value of an optional attribute back to null.
func nullIfEmpty(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

func nullIfZero(n int64) types.Int64 {
	if n == 0 {
		return types.Int64Null()
	}
	return types.Int64Value(n)
}

// stringList renders a list attribute; an empty list is null, as an unset
// optional attribute.
func stringList(vs []string) types.List {
	if len(vs) == 0 {
		return types.ListNull(types.StringType)
	}
	els := make([]attr.Value, len(vs))
	for i, v := range vs {
		els[i] = types.StringValue(v)
	}
	return types.ListValueMust(types.StringType, els)
}

// oneOfDoc renders allowed values for a description: `a`, `b` or `c`.
func oneOfDoc(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = "`" + v + "`"
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// objectModel is a resource model that converts to its config object;
// unknown values are recorded in u (plan-time validation skips them).
type objectModel[T store.Object] interface {
	toConfig(ctx context.Context, u unknowns, diags *diag.Diagnostics) T
}

// createObject implements Create for a resource whose model is M.
func createObject[T store.Object, M objectModel[T]](ctx context.Context, d *documents, req resource.CreateRequest, resp *resource.CreateResponse, toModel func(T) M) {
	var m M
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	obj := m.toConfig(ctx, unknowns{}, &resp.Diagnostics)
	if resp.Diagnostics.HasError() || !d.create(ctx, obj, resp.Private, &resp.Diagnostics) {
		return
	}
	m = toModel(obj)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// readObject implements Read: the state becomes what the store holds, so a
// change made in the store shows as drift in the next plan.
func readObject[T store.Object, M objectModel[T]](ctx context.Context, d *documents, req resource.ReadRequest, resp *resource.ReadResponse, toModel func(T) M) {
	var id types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("id"), &id)...)
	if resp.Diagnostics.HasError() {
		return
	}
	obj, found := read[T](ctx, d, id.ValueString(), resp.Private, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if !found {
		resp.State.RemoveResource(ctx)
		return
	}
	m := toModel(obj)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// updateObject implements Update.
func updateObject[T store.Object, M objectModel[T]](ctx context.Context, d *documents, req resource.UpdateRequest, resp *resource.UpdateResponse, toModel func(T) M) {
	var m M
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	obj := m.toConfig(ctx, unknowns{}, &resp.Diagnostics)
	if resp.Diagnostics.HasError() || !d.update(ctx, obj, req.Private, resp.Private, &resp.Diagnostics) {
		return
	}
	m = toModel(obj)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// deleteObject implements Delete.
func (d *documents) deleteObject(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var id types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("id"), &id)...)
	if resp.Diagnostics.HasError() {
		return
	}
	d.delete(ctx, id.ValueString(), &resp.Diagnostics)
}

// validateObject implements ValidateConfig through config's Validate.
func validateObject[T interface {
	store.Object
	Validate() error
}, M objectModel[T]](ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m M
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	u := unknowns{}
	obj := m.toConfig(ctx, u, &resp.Diagnostics)
	addProblems(&resp.Diagnostics, obj.Validate(), u)
}
