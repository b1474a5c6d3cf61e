package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/tajo/terraform-provider-tajo/agent/config"
)

var (
	_ resource.Resource                   = (*connectorResource)(nil)
	_ resource.ResourceWithConfigure      = (*connectorResource)(nil)
	_ resource.ResourceWithImportState    = (*connectorResource)(nil)
	_ resource.ResourceWithValidateConfig = (*connectorResource)(nil)
)

// NewConnectorResource returns the tajo_connector resource.
func NewConnectorResource() resource.Resource {
	return &connectorResource{documents{kind: config.KindConnector, typeName: "tajo_connector"}}
}

type connectorResource struct {
	documents
}

type connectorModel struct {
	ID                    types.String `tfsdk:"id"`
	Name                  types.String `tfsdk:"name"`
	Enabled               types.Bool   `tfsdk:"enabled"`
	Intercom              types.Object `tfsdk:"intercom"`
	Brevo                 types.Object `tfsdk:"brevo"`
	Sync                  types.Object `tfsdk:"sync"`
	Direction             types.String `tfsdk:"direction"`
	Mode                  types.String `tfsdk:"mode"`
	BatchInterval         types.String `tfsdk:"batch_interval"`
	Since                 types.String `tfsdk:"since"`
	LeadPolicy            types.String `tfsdk:"lead_policy"`
	DefaultFieldMappings  types.Bool   `tfsdk:"default_field_mappings"`
	DeleteRemovedContacts types.Bool   `tfsdk:"delete_removed_contacts"`
	EventNames            types.List   `tfsdk:"event_names"`
	Debug                 types.Bool   `tfsdk:"debug"`
	LogLevel              types.String `tfsdk:"log_level"`
	LogWebhooks           types.Bool   `tfsdk:"log_webhooks"`
}

type intercomModel struct {
	AccessToken    types.String `tfsdk:"access_token"`
	ClientID       types.String `tfsdk:"client_id"`
	ClientSecret   types.String `tfsdk:"client_secret"`
	APIVersion     types.String `tfsdk:"api_version"`
	Region         types.String `tfsdk:"region"`
	BaseURL        types.String `tfsdk:"base_url"`
	Plan           types.String `tfsdk:"plan"`
	RequestsPer10s types.Int64  `tfsdk:"requests_per_10s"`
}

type brevoModel struct {
	APIKey  types.String `tfsdk:"api_key"`
	BaseURL types.String `tfsdk:"base_url"`
}

type syncModel struct {
	Contacts      types.Bool `tfsdk:"contacts"`
	Conversations types.Bool `tfsdk:"conversations"`
	Companies     types.Bool `tfsdk:"companies"`
	Events        types.Bool `tfsdk:"events"`
	Tags          types.Bool `tfsdk:"tags"`
	Messenger     types.Bool `tfsdk:"messenger"`
	AIAgent       types.Bool `tfsdk:"ai_agent"`
}

var intercomAttrTypes = map[string]attr.Type{
	"access_token": types.StringType, "client_id": types.StringType, "client_secret": types.StringType,
	"api_version": types.StringType, "region": types.StringType, "base_url": types.StringType,
	"plan": types.StringType, "requests_per_10s": types.Int64Type,
}

var brevoAttrTypes = map[string]attr.Type{"api_key": types.StringType, "base_url": types.StringType}

var syncAttrTypes = map[string]attr.Type{
	"contacts": types.BoolType, "conversations": types.BoolType, "companies": types.BoolType, "events": types.BoolType,
	"tags": types.BoolType, "messenger": types.BoolType, "ai_agent": types.BoolType,
}

func syncObject(s config.Sync) types.Object {
	return types.ObjectValueMust(syncAttrTypes, map[string]attr.Value{
		"contacts": types.BoolValue(s.Contacts), "conversations": types.BoolValue(s.Conversations),
		"companies": types.BoolValue(s.Companies), "events": types.BoolValue(s.Events), "tags": types.BoolValue(s.Tags),
		"messenger": types.BoolValue(s.Messenger), "ai_agent": types.BoolValue(s.AIAgent),
	})
}

func (r *connectorResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_connector"
}

const secretRefDoc = "A **reference** to the secret, resolved by `tajo-agent` in its own environment: `env:VARIABLE_NAME` or " +
	"`file:/absolute/path`. The secret itself never reaches the plan, the state or the store; a literal secret is rejected."

func (r *connectorResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	defaults := config.NewConnector("")
	boolAttr := func(desc string, def bool) schema.BoolAttribute {
		return schema.BoolAttribute{MarkdownDescription: desc, Optional: true, Computed: true, Default: booldefault.StaticBool(def)}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "An Intercom workspace synced into a Brevo account. `tajo-agent` picks up changes to the " +
			"connector (and its mappings, list assignments and webhook subscriptions) within seconds of `terraform apply`, " +
			"without a restart.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The connector's identifier: its `name`.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "Unique name of the connector: lower-case letters, digits, `-` and `_`, starting with a letter. " +
					"Changing it creates a new connector (and a new sync state).",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"enabled": boolAttr("Whether the agent runs this connector. Disabling keeps its state, so re-enabling resumes.", true),
			"intercom": schema.SingleNestedAttribute{
				MarkdownDescription: "The Intercom side.",
				Required:            true,
				Attributes: map[string]schema.Attribute{
					"access_token": schema.StringAttribute{
						MarkdownDescription: "Access token of the Intercom app (private app token, or the token of an OAuth install). " + secretRefDoc,
						Required:            true,
					},
					"client_id": schema.StringAttribute{
						MarkdownDescription: "OAuth client id of a public Intercom app (used by `tajo-agent oauth` to exchange a code for a token).",
						Optional:            true,
					},
					"client_secret": schema.StringAttribute{
						MarkdownDescription: "OAuth client secret of a public Intercom app. " + secretRefDoc,
						Optional:            true,
					},
					"api_version": schema.StringAttribute{
						MarkdownDescription: "Pinned `Intercom-Version` header, sent with every request. One of " + oneOfDoc(config.APIVersions) + ".",
						Optional:            true, Computed: true, Default: stringdefault.StaticString(config.DefaultAPIVersion),
					},
					"region": schema.StringAttribute{
						MarkdownDescription: "Data-hosting region of the workspace: " + oneOfDoc(config.Regions) + " (default `us`). Conflicts with `base_url`.",
						Optional:            true,
					},
					"base_url": schema.StringAttribute{
						MarkdownDescription: "Explicit API base URL (https; plain http only for loopback, e.g. a local sandbox). Conflicts with `region`.",
						Optional:            true,
					},
					"plan": schema.StringAttribute{
						MarkdownDescription: "Intercom plan, which sets the request budget: `starter` 20, `pro` 50, `premium` 100 requests " +
							"per 10 s (default `starter`); the agent also follows the limits Intercom reports. Conflicts with `requests_per_10s`.",
						Optional: true,
					},
					"requests_per_10s": schema.Int64Attribute{
						MarkdownDescription: "Explicit request budget per 10 seconds instead of `plan`.",
						Optional:            true,
					},
				},
			},
			"brevo": schema.SingleNestedAttribute{
				MarkdownDescription: "The Brevo side.",
				Required:            true,
				Attributes: map[string]schema.Attribute{
					"api_key": schema.StringAttribute{MarkdownDescription: "Brevo API key. " + secretRefDoc, Required: true},
					"base_url": schema.StringAttribute{
						MarkdownDescription: "API base URL (default `" + config.DefaultBrevoBaseURL + "`).",
						Optional:            true,
					},
				},
			},
			"sync": schema.SingleNestedAttribute{
				MarkdownDescription: "What is synced. Conversations, tags, messenger and AI-agent data are written onto contacts, " +
					"so they need `contacts`.",
				Optional: true, Computed: true,
				Default: objectdefault.StaticValue(syncObject(defaults.Sync)),
				Attributes: map[string]schema.Attribute{
					"contacts": boolAttr("Users and leads → Brevo contacts.", defaults.Sync.Contacts),
					"conversations": boolAttr("Conversation aggregates per contact (open count, last rating, …) as attributes, the "+
						"`active_conversations` and `conversation_tag:<name>` list rules, and conversation lifecycle events.", defaults.Sync.Conversations),
					"companies": boolAttr("Companies → Brevo companies, linked to their contacts.", defaults.Sync.Companies),
					"events":    boolAttr("Intercom data events and conversation lifecycle events → Brevo events.", defaults.Sync.Events),
					"tags":      boolAttr("Tags → list memberships (`tag:<name>` rules) and the `tags` mapping source.", defaults.Sync.Tags),
					"messenger": boolAttr("Messenger engagement attributes by default (last contacted/replied, email opened/clicked, browser, OS, country, city).", defaults.Sync.Messenger),
					"ai_agent":  boolAttr("AI-agent (Fin) outcomes as attributes and events; needs `conversations`.", defaults.Sync.AIAgent),
				},
			},
			"direction": schema.StringAttribute{
				MarkdownDescription: "`intercom_to_brevo`, or `bidirectional` to carry Brevo unsubscribes back to Intercom.",
				Optional:            true, Computed: true, Default: stringdefault.StaticString(defaults.Direction),
			},
			"mode": schema.StringAttribute{
				MarkdownDescription: "`realtime` (webhooks drive the sync), `batch` (scheduled incremental passes every `batch_interval`) " +
					"or `hybrid` (webhooks plus a scheduled catch-up that repairs missed deliveries).",
				Optional: true, Computed: true, Default: stringdefault.StaticString(defaults.Mode),
			},
			"batch_interval": schema.StringAttribute{
				MarkdownDescription: "Time between scheduled passes in `batch` and `hybrid` mode: a duration such as `15m`, `1h`, `24h`, " +
					"or `hourly` / `daily` (1 minute to 168 hours).",
				Optional: true, Computed: true, Default: stringdefault.StaticString(defaults.BatchInterval),
			},
			"since": schema.StringAttribute{
				MarkdownDescription: "Only sync records updated since this date (`2023-01-01` or RFC 3339) in a full sync.",
				Optional:            true,
			},
			"lead_policy": schema.StringAttribute{
				MarkdownDescription: "What happens to leads without an email: `skip` (counted, not synced) or `ext_id` (synced, identified " +
					"by the Intercom id, reachable by SMS when they have a phone).",
				Optional: true, Computed: true, Default: stringdefault.StaticString(defaults.LeadPolicy),
			},
			"default_field_mappings": boolAttr("Apply the documented default field mappings (email, name → FULLNAME/FIRSTNAME/LASTNAME, "+
				"phone → SMS, company name/plan/size, dates, unsubscribed). A `tajo_field_mapping` with the same target replaces a default.", defaults.DefaultFieldMappings),
			"delete_removed_contacts": boolAttr("Delete the Brevo contact when its Intercom contact is deleted or archived. "+
				"Otherwise it is only removed from the managed lists.", defaults.DeleteRemovedContacts),
			"event_names": schema.ListAttribute{
				MarkdownDescription: "With `sync.events`: only these Intercom data event names are sent to Brevo (default: all). " +
					"Conversation lifecycle and AI-agent events are not filtered.",
				ElementType: types.StringType,
				Optional:    true,
			},
			"debug": boolAttr("Debug mode of the brief: detailed logs of this connector's sync.", defaults.Debug),
			"log_level": schema.StringAttribute{
				MarkdownDescription: "Log level of this connector: " + oneOfDoc(config.LogLevels) + " (`verbose` is `trace`).",
				Optional:            true, Computed: true, Default: stringdefault.StaticString(defaults.LogLevel),
			},
			"log_webhooks": boolAttr("Log each webhook delivery (topic, delivery id, contact id, outcome); bodies only together with `debug`.", defaults.LogWebhooks),
		},
	}
}

func (r *connectorResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.configure(req.ProviderData, &resp.Diagnostics)
}

// toConfig converts the model; unknown values are recorded in u.
func (m connectorModel) toConfig(ctx context.Context, u unknowns, diags *diag.Diagnostics) config.Connector {
	def := config.NewConnector("")
	c := config.Connector{
		Name:                  u.str("name", m.Name),
		Enabled:               u.boolean("enabled", m.Enabled, def.Enabled),
		Direction:             u.str("direction", m.Direction),
		Mode:                  u.str("mode", m.Mode),
		BatchInterval:         u.str("batch_interval", m.BatchInterval),
		Since:                 u.str("since", m.Since),
		LeadPolicy:            u.str("lead_policy", m.LeadPolicy),
		DefaultFieldMappings:  u.boolean("default_field_mappings", m.DefaultFieldMappings, def.DefaultFieldMappings),
		DeleteRemovedContacts: u.boolean("delete_removed_contacts", m.DeleteRemovedContacts, def.DeleteRemovedContacts),
		EventNames:            u.strings(ctx, "event_names", m.EventNames, diags),
		Debug:                 u.boolean("debug", m.Debug, def.Debug),
		LogLevel:              u.str("log_level", m.LogLevel),
		LogWebhooks:           u.boolean("log_webhooks", m.LogWebhooks, def.LogWebhooks),
		Sync:                  def.Sync,
	}
	opts := basetypes.ObjectAsOptions{}
	switch {
	case m.Intercom.IsUnknown():
		u["intercom"] = true
	case !m.Intercom.IsNull():
		var in intercomModel
		diags.Append(m.Intercom.As(ctx, &in, opts)...)
		c.Intercom = config.Intercom{
			AccessToken:    config.SecretRef(u.str("intercom.access_token", in.AccessToken)),
			ClientID:       u.str("intercom.client_id", in.ClientID),
			ClientSecret:   config.SecretRef(u.str("intercom.client_secret", in.ClientSecret)),
			APIVersion:     u.str("intercom.api_version", in.APIVersion),
			Region:         u.str("intercom.region", in.Region),
			BaseURL:        u.str("intercom.base_url", in.BaseURL),
			Plan:           u.str("intercom.plan", in.Plan),
			RequestsPer10s: int(u.int64("intercom.requests_per_10s", in.RequestsPer10s)),
		}
	}
	switch {
	case m.Brevo.IsUnknown():
		u["brevo"] = true
	case !m.Brevo.IsNull():
		var b brevoModel
		diags.Append(m.Brevo.As(ctx, &b, opts)...)
		c.Brevo = config.Brevo{APIKey: config.SecretRef(u.str("brevo.api_key", b.APIKey)), BaseURL: u.str("brevo.base_url", b.BaseURL)}
	}
	switch {
	case m.Sync.IsUnknown():
		u["sync"] = true
	case !m.Sync.IsNull():
		var s syncModel
		diags.Append(m.Sync.As(ctx, &s, opts)...)
		c.Sync = config.Sync{
			Contacts:      u.boolean("sync.contacts", s.Contacts, def.Sync.Contacts),
			Conversations: u.boolean("sync.conversations", s.Conversations, def.Sync.Conversations),
			Companies:     u.boolean("sync.companies", s.Companies, def.Sync.Companies),
			Events:        u.boolean("sync.events", s.Events, def.Sync.Events),
			Tags:          u.boolean("sync.tags", s.Tags, def.Sync.Tags),
			Messenger:     u.boolean("sync.messenger", s.Messenger, def.Sync.Messenger),
			AIAgent:       u.boolean("sync.ai_agent", s.AIAgent, def.Sync.AIAgent),
		}
	}
	return c
}

func connectorFromConfig(c config.Connector) connectorModel {
	in := c.Intercom
	return connectorModel{
		ID:      types.StringValue(c.ID()),
		Name:    types.StringValue(c.Name),
		Enabled: types.BoolValue(c.Enabled),
		Intercom: types.ObjectValueMust(intercomAttrTypes, map[string]attr.Value{
			"access_token":     types.StringValue(string(in.AccessToken)),
			"client_id":        nullIfEmpty(in.ClientID),
			"client_secret":    nullIfEmpty(string(in.ClientSecret)),
			"api_version":      types.StringValue(c.APIVersion()),
			"region":           nullIfEmpty(in.Region),
			"base_url":         nullIfEmpty(in.BaseURL),
			"plan":             nullIfEmpty(in.Plan),
			"requests_per_10s": nullIfZero(int64(in.RequestsPer10s)),
		}),
		Brevo: types.ObjectValueMust(brevoAttrTypes, map[string]attr.Value{
			"api_key":  types.StringValue(string(c.Brevo.APIKey)),
			"base_url": nullIfEmpty(c.Brevo.BaseURL),
		}),
		Sync:                  syncObject(c.Sync),
		Direction:             types.StringValue(c.Direction),
		Mode:                  types.StringValue(c.Mode),
		BatchInterval:         types.StringValue(c.BatchInterval),
		Since:                 nullIfEmpty(c.Since),
		LeadPolicy:            types.StringValue(c.LeadPolicy),
		DefaultFieldMappings:  types.BoolValue(c.DefaultFieldMappings),
		DeleteRemovedContacts: types.BoolValue(c.DeleteRemovedContacts),
		EventNames:            stringList(c.EventNames),
		Debug:                 types.BoolValue(c.Debug),
		LogLevel:              types.StringValue(c.LogLevel),
		LogWebhooks:           types.BoolValue(c.LogWebhooks),
	}
}

func (r *connectorResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	validateObject[config.Connector, connectorModel](ctx, req, resp)
}

func (r *connectorResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	createObject(ctx, &r.documents, req, resp, connectorFromConfig)
}

func (r *connectorResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	readObject(ctx, &r.documents, req, resp, connectorFromConfig)
}

func (r *connectorResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	updateObject(ctx, &r.documents, req, resp, connectorFromConfig)
}

func (r *connectorResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	r.deleteObject(ctx, req, resp)
}

func (r *connectorResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importID(ctx, req.ID, func(id string) error { _, err := config.ParseConnectorID(id); return err }, resp)
}
