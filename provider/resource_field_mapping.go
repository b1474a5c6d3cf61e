package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tajo/terraform-provider-tajo/agent/config"
)

var (
	_ resource.Resource                   = (*fieldMappingResource)(nil)
	_ resource.ResourceWithConfigure      = (*fieldMappingResource)(nil)
	_ resource.ResourceWithImportState    = (*fieldMappingResource)(nil)
	_ resource.ResourceWithValidateConfig = (*fieldMappingResource)(nil)
)

// NewFieldMappingResource returns the tajo_field_mapping resource.
func NewFieldMappingResource() resource.Resource {
	return &fieldMappingResource{documents{kind: config.KindFieldMapping, typeName: "tajo_field_mapping"}}
}

type fieldMappingResource struct {
	documents
}

type fieldMappingModel struct {
	ID          types.String `tfsdk:"id"`
	ConnectorID types.String `tfsdk:"connector_id"`
	Source      types.String `tfsdk:"source"`
	Target      types.String `tfsdk:"target"`
	Type        types.String `tfsdk:"type"`
	Transform   types.String `tfsdk:"transform"`
}

func (r *fieldMappingResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_field_mapping"
}

func sourcesDoc() string {
	var b strings.Builder
	b.WriteString("\n\n| source | type | |\n|---|---|---|\n")
	for _, s := range config.KnownSources() {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", s.Path, s.Type, s.Doc)
	}
	fmt.Fprintf(&b, "| `%s<name>` | text (set `type`) | an Intercom custom data attribute of the contact |\n", config.CustomPrefix)
	fmt.Fprintf(&b, "| `%s<name>` | text (set `type`) | a custom data attribute of the primary company |\n", config.CompanyCustomPrefix)
	return b.String()
}

func (r *fieldMappingResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Writes one Intercom field into one Brevo contact attribute. Missing Brevo attributes are created " +
			"by the agent, with the mapping's type, before the first write. With `default_field_mappings` on the connector, " +
			"a mapping replaces the default of the same target.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "`<connector name>/<TARGET>`.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"connector_id": schema.StringAttribute{
				MarkdownDescription: "The connector (`tajo_connector.<name>.id`).",
				Required:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"source": schema.StringAttribute{
				MarkdownDescription: "The Intercom field to read. `company.*` reads the contact's primary company." + sourcesDoc(),
				Required:            true,
			},
			"target": schema.StringAttribute{
				MarkdownDescription: "The Brevo contact attribute to write: upper-case letters, digits and underscores, starting with a " +
					"letter (e.g. `PLAN_TIER`). `EMAIL` is the contact's email identifier; `SMS` needs E.164 numbers.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"type": schema.StringAttribute{
				MarkdownDescription: "Type of the Brevo attribute: " + oneOfDoc(config.Types) + ". Defaults to the source's own type " +
					"(text for custom attributes). Values are coerced to it; a value that cannot be is reported per field, not written.",
				Optional: true, Computed: true,
				PlanModifiers: []planmodifier.String{fromSource{config.DefaultType, "the type of the source"}},
			},
			"transform": schema.StringAttribute{
				MarkdownDescription: "Applied before writing: " + oneOfDoc(config.Transforms) + ". `split_name` also writes FIRSTNAME and " +
					"LASTNAME; `e164` normalises phone numbers (invalid ones are skipped and counted). Defaults to `split_name` for " +
					"`name`, `e164` for `phone`, `none` otherwise.",
				Optional: true, Computed: true,
				PlanModifiers: []planmodifier.String{fromSource{config.DefaultTransform, "the transform of the source"}},
			},
		},
	}
}

// fromSource plans an unset attribute as a function of the source, so the
// plan shows the value the agent will use.
type fromSource struct {
	fn   func(source string) string
	desc string
}

func (m fromSource) Description(context.Context) string {
	return "defaults to " + m.desc
}

func (m fromSource) MarkdownDescription(ctx context.Context) string { return m.Description(ctx) }

func (m fromSource) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if !req.ConfigValue.IsNull() {
		return
	}
	var src types.String
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("source"), &src)...)
	if src.IsUnknown() || src.IsNull() {
		resp.PlanValue = types.StringUnknown()
		return
	}
	resp.PlanValue = types.StringValue(m.fn(src.ValueString()))
}

func (r *fieldMappingResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.configure(req.ProviderData, &resp.Diagnostics)
}

// toConfig converts the model. Create and Update store the mapping with its
// type and transform filled in, so the agent needs no defaults of its own.
func (m fieldMappingModel) toConfig(_ context.Context, u unknowns, _ *diag.Diagnostics) config.FieldMapping {
	f := config.FieldMapping{
		ConnectorID: u.str("connector_id", m.ConnectorID),
		Source:      u.str("source", m.Source),
		Target:      u.str("target", m.Target),
		Type:        u.str("type", m.Type),
		Transform:   u.str("transform", m.Transform),
	}
	if len(u) > 0 {
		return f // validation: unset values stay unset
	}
	return f.WithDefaults()
}

func fieldMappingFromConfig(f config.FieldMapping) fieldMappingModel {
	f = f.WithDefaults()
	return fieldMappingModel{
		ID:          types.StringValue(f.ID()),
		ConnectorID: types.StringValue(f.ConnectorID),
		Source:      types.StringValue(f.Source),
		Target:      types.StringValue(f.Target),
		Type:        types.StringValue(f.Type),
		Transform:   types.StringValue(f.Transform),
	}
}

func (r *fieldMappingResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	validateObject[config.FieldMapping, fieldMappingModel](ctx, req, resp)
}

func (r *fieldMappingResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	createObject(ctx, &r.documents, req, resp, fieldMappingFromConfig)
}

func (r *fieldMappingResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	readObject(ctx, &r.documents, req, resp, fieldMappingFromConfig)
}

func (r *fieldMappingResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	updateObject(ctx, &r.documents, req, resp, fieldMappingFromConfig)
}

func (r *fieldMappingResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	r.deleteObject(ctx, req, resp)
}

func (r *fieldMappingResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importID(ctx, req.ID, func(id string) error { _, _, err := config.ParseFieldMappingID(id); return err }, resp)
}
