package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/store"
)

var (
	_ datasource.DataSource              = (*connectorStatusDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*connectorStatusDataSource)(nil)
)

// NewConnectorStatusDataSource returns the tajo_connector_status data source.
func NewConnectorStatusDataSource() datasource.DataSource {
	return &connectorStatusDataSource{}
}

type connectorStatusDataSource struct {
	store store.Store
}

type connectorStatusModel struct {
	ConnectorID         types.String `tfsdk:"connector_id"`
	Connected           types.Bool   `tfsdk:"connected"`
	State               types.String `tfsdk:"state"`
	LastSync            types.String `tfsdk:"last_sync"`
	ContactsSynced      types.Int64  `tfsdk:"contacts_synced"`
	ConversationsSynced types.Int64  `tfsdk:"conversations_synced"`
	CompaniesSynced     types.Int64  `tfsdk:"companies_synced"`
	EventsSynced        types.Int64  `tfsdk:"events_synced"`
	LastError           types.String `tfsdk:"last_error"`
	Errors              types.List   `tfsdk:"errors"`
	Progress            types.Object `tfsdk:"progress"`
	UpdatedAt           types.String `tfsdk:"updated_at"`
}

var progressAttrTypes = map[string]attr.Type{
	"phase": types.StringType, "done": types.Int64Type, "total": types.Int64Type,
	"per_second": types.Float64Type, "eta": types.StringType,
}

// StateNeverRun is the state reported before any agent wrote a status.
const StateNeverRun = "never_run"

func (d *connectorStatusDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_connector_status"
}

func (d *connectorStatusDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computed := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{MarkdownDescription: desc, Computed: true}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "What `tajo-agent` last reported about a connector, read from the store. Before an agent has run " +
			"the connector, counts are 0, `connected` is false and `state` is `" + StateNeverRun + "`.",
		Attributes: map[string]schema.Attribute{
			"connector_id": schema.StringAttribute{MarkdownDescription: "The connector (`tajo_connector.<name>.id`).", Required: true},
			"connected": schema.BoolAttribute{
				MarkdownDescription: "Whether the agent's last connection test to both Intercom and Brevo succeeded.",
				Computed:            true,
			},
			"state": schema.StringAttribute{
				MarkdownDescription: "`" + StateNeverRun + "`, `idle`, `syncing`, `error` or `disabled`.",
				Computed:            true,
			},
			"last_sync": schema.StringAttribute{
				MarkdownDescription: "End of the last successful sync pass (RFC 3339), empty before the first.",
				Computed:            true,
			},
			"contacts_synced":      computed("Contacts (users and leads) present in Brevo."),
			"conversations_synced": computed("Conversations folded into contact aggregates."),
			"companies_synced":     computed("Companies present in Brevo."),
			"events_synced":        computed("Events sent to Brevo."),
			"last_error": schema.StringAttribute{
				MarkdownDescription: "The last error of a sync pass or connection test, empty when the last one succeeded.",
				Computed:            true,
			},
			"errors": schema.ListAttribute{
				MarkdownDescription: "Recent per-record failures (newest first, bounded), each with the record and the reason.",
				ElementType:         types.StringType,
				Computed:            true,
			},
			"progress": schema.SingleNestedAttribute{
				MarkdownDescription: "Progress of a running full sync; null when none runs.",
				Computed:            true,
				Attributes: map[string]schema.Attribute{
					"phase":      schema.StringAttribute{MarkdownDescription: "`companies`, `contacts`, `lists`, `conversations` or `events`.", Computed: true},
					"done":       schema.Int64Attribute{MarkdownDescription: "Records done in this phase.", Computed: true},
					"total":      schema.Int64Attribute{MarkdownDescription: "Records in this phase when Intercom tells (else 0).", Computed: true},
					"per_second": schema.Float64Attribute{MarkdownDescription: "Current rate.", Computed: true},
					"eta":        schema.StringAttribute{MarkdownDescription: "Estimated end of the phase (RFC 3339), empty when unknown.", Computed: true},
				},
			},
			"updated_at": schema.StringAttribute{
				MarkdownDescription: "When the agent wrote this status (RFC 3339), empty before the first.",
				Computed:            true,
			},
		},
	}
}

func (d *connectorStatusDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	var docs documents
	docs.configure(req.ProviderData, &resp.Diagnostics)
	d.store = docs.store
}

func timeString(t time.Time) types.String {
	if t.IsZero() {
		return types.StringValue("")
	}
	return types.StringValue(t.UTC().Format(time.RFC3339))
}

func statusModel(id string, st store.Status, diags *diag.Diagnostics) connectorStatusModel {
	errs := make([]attr.Value, len(st.Errors))
	for i, e := range st.Errors {
		errs[i] = types.StringValue(e)
	}
	progress := types.ObjectNull(progressAttrTypes)
	if p := st.Progress; p != nil {
		v, ds := types.ObjectValue(progressAttrTypes, map[string]attr.Value{
			"phase": types.StringValue(p.Phase), "done": types.Int64Value(p.Done), "total": types.Int64Value(p.Total),
			"per_second": types.Float64Value(p.PerSecond), "eta": timeString(p.ETA),
		})
		diags.Append(ds...)
		progress = v
	}
	state := st.State
	if state == "" {
		state = StateNeverRun
	}
	return connectorStatusModel{
		ConnectorID:         types.StringValue(id),
		Connected:           types.BoolValue(st.Connected),
		State:               types.StringValue(state),
		LastSync:            timeString(st.LastSync),
		ContactsSynced:      types.Int64Value(st.ContactsSynced),
		ConversationsSynced: types.Int64Value(st.ConversationsSynced),
		CompaniesSynced:     types.Int64Value(st.CompaniesSynced),
		EventsSynced:        types.Int64Value(st.EventsSynced),
		LastError:           types.StringValue(st.LastError),
		Errors:              types.ListValueMust(types.StringType, errs),
		Progress:            progress,
		UpdatedAt:           timeString(st.UpdatedAt),
	}
}

func (d *connectorStatusDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var id types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("connector_id"), &id)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := config.ValidateName(id.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("connector_id"), "Invalid connector_id", err.Error())
		return
	}
	if d.store == nil {
		resp.Diagnostics.AddError("Provider not configured", "The tajo provider has no store; set its store attribute or "+EnvStore+".")
		return
	}
	if _, err := d.store.GetDocument(ctx, config.KindConnector, id.ValueString()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			resp.Diagnostics.AddAttributeError(path.Root("connector_id"), "Unknown connector",
				fmt.Sprintf("No tajo_connector %q in the store. Reference the connector resource (tajo_connector.<name>.id) so that "+
					"Terraform creates it first.", id.ValueString()))
			return
		}
		resp.Diagnostics.AddError("Cannot read the store", err.Error())
		return
	}
	st, err := d.store.GetStatus(ctx, id.ValueString())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		resp.Diagnostics.AddError("Cannot read the connector status", err.Error())
		return
	}
	m := statusModel(id.ValueString(), st, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
