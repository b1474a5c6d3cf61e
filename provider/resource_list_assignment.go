package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tajo/terraform-provider-tajo/agent/config"
)

var (
	_ resource.Resource                   = (*listAssignmentResource)(nil)
	_ resource.ResourceWithConfigure      = (*listAssignmentResource)(nil)
	_ resource.ResourceWithImportState    = (*listAssignmentResource)(nil)
	_ resource.ResourceWithValidateConfig = (*listAssignmentResource)(nil)
)

// NewListAssignmentResource returns the tajo_list_assignment resource.
func NewListAssignmentResource() resource.Resource {
	return &listAssignmentResource{documents{kind: config.KindList, typeName: "tajo_list_assignment"}}
}

type listAssignmentResource struct {
	documents
}

type listAssignmentModel struct {
	ID          types.String `tfsdk:"id"`
	ConnectorID types.String `tfsdk:"connector_id"`
	ListID      types.Int64  `tfsdk:"list_id"`
	Rule        types.String `tfsdk:"rule"`
}

func (r *listAssignmentResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_list_assignment"
}

func (r *listAssignmentResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Keeps a Brevo list equal to the Intercom contacts matching a rule: a contact is added when it starts " +
			"matching and removed when it stops (or is deleted in Intercom). Contacts the connector did not put in the list are " +
			"left alone.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "`<connector name>/<list id>`.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"connector_id": schema.StringAttribute{
				MarkdownDescription: "The connector (`tajo_connector.<name>.id`).",
				Required:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"list_id": schema.Int64Attribute{
				MarkdownDescription: "Id of the Brevo list (Brevo → Contacts → Lists shows it as `#35`). A list follows one rule per connector.",
				Required:            true,
				PlanModifiers:       []planmodifier.Int64{int64planmodifier.RequiresReplace()},
			},
			"rule": schema.StringAttribute{
				MarkdownDescription: "Which contacts belong in the list: `all_users` (users), `leads`, `all_contacts` (users and leads), " +
					"`active_conversations` (an open or snoozed conversation; needs `sync.conversations`), `tag:<tag name>` " +
					"(tagged in Intercom), `company_plan:<plan name>` (primary company on that plan), `conversation_tag:<tag name>` " +
					"(a conversation of the contact carries the tag; needs `sync.conversations`). Changing it re-sorts the list.",
				Required: true,
			},
		},
	}
}

func (r *listAssignmentResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.configure(req.ProviderData, &resp.Diagnostics)
}

func (m listAssignmentModel) toConfig(_ context.Context, u unknowns, _ *diag.Diagnostics) config.ListAssignment {
	return config.ListAssignment{
		ConnectorID: u.str("connector_id", m.ConnectorID),
		ListID:      u.int64("list_id", m.ListID),
		Rule:        u.str("rule", m.Rule),
	}
}

func listAssignmentFromConfig(l config.ListAssignment) listAssignmentModel {
	return listAssignmentModel{
		ID:          types.StringValue(l.ID()),
		ConnectorID: types.StringValue(l.ConnectorID),
		ListID:      types.Int64Value(l.ListID),
		Rule:        types.StringValue(l.Rule),
	}
}

func (r *listAssignmentResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	validateObject[config.ListAssignment, listAssignmentModel](ctx, req, resp)
}

func (r *listAssignmentResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	createObject(ctx, &r.documents, req, resp, listAssignmentFromConfig)
}

func (r *listAssignmentResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	readObject(ctx, &r.documents, req, resp, listAssignmentFromConfig)
}

func (r *listAssignmentResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	updateObject(ctx, &r.documents, req, resp, listAssignmentFromConfig)
}

func (r *listAssignmentResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	r.deleteObject(ctx, req, resp)
}

func (r *listAssignmentResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importID(ctx, req.ID, func(id string) error { _, _, err := config.ParseListAssignmentID(id); return err }, resp)
}
