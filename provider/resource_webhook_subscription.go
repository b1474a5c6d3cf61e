package provider

import (
	"context"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tajo/terraform-provider-tajo/agent/config"
)

var (
	_ resource.Resource                   = (*webhookSubscriptionResource)(nil)
	_ resource.ResourceWithConfigure      = (*webhookSubscriptionResource)(nil)
	_ resource.ResourceWithImportState    = (*webhookSubscriptionResource)(nil)
	_ resource.ResourceWithValidateConfig = (*webhookSubscriptionResource)(nil)
)

// NewWebhookSubscriptionResource returns the tajo_webhook_subscription resource.
func NewWebhookSubscriptionResource() resource.Resource {
	return &webhookSubscriptionResource{documents{kind: config.KindWebhook, typeName: "tajo_webhook_subscription"}}
}

type webhookSubscriptionResource struct {
	documents
}

type webhookSubscriptionModel struct {
	ID          types.String `tfsdk:"id"`
	ConnectorID types.String `tfsdk:"connector_id"`
	Source      types.String `tfsdk:"source"`
	Topics      types.List   `tfsdk:"topics"`
	Secret      types.String `tfsdk:"secret"`
	Path        types.String `tfsdk:"path"`
}

func (r *webhookSubscriptionResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_webhook_subscription"
}

func topicsDoc() string {
	var b strings.Builder
	b.WriteString("\n\nIntercom topics (API 2.11): " + oneOfDoc(config.IntercomTopics) + ".\n\nThe brief's names are accepted as aliases:\n\n")
	b.WriteString("| alias | stands for |\n|---|---|\n")
	for _, a := range aliasNames() {
		b.WriteString("| `" + a + "` | " + oneOfDoc(config.TopicAliases[a]) + " |\n")
	}
	b.WriteString("\nBrevo events: " + oneOfDoc(config.BrevoEvents) + ".")
	return b.String()
}

func aliasNames() []string {
	names := make([]string, 0, len(config.TopicAliases))
	for n := range config.TopicAliases {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (r *webhookSubscriptionResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Real-time deliveries received by `tajo-agent run --listen ADDR` at `path`. For `source = \"intercom\"`, " +
			"configure the same topics for the agent's public URL in the Intercom Developer Hub (Your app → Webhooks); the agent " +
			"verifies each delivery's `X-Hub-Signature` with the app's client secret. For `source = \"brevo\"` (needs " +
			"`direction = \"bidirectional\"`) the agent registers a Brevo marketing webhook pointing at `--public-url` + `path` " +
			"itself, authenticated with the bearer token `secret`, and removes it when this resource is destroyed.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "`<connector name><path>`, e.g. `intercom/webhooks/intercom`.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"connector_id": schema.StringAttribute{
				MarkdownDescription: "The connector (`tajo_connector.<name>.id`).",
				Required:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"source": schema.StringAttribute{
				MarkdownDescription: "Who sends the deliveries: " + oneOfDoc(config.Sources) + ".",
				Required:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"topics": schema.ListAttribute{
				MarkdownDescription: "The topics (Intercom) or events (Brevo) to act on." + topicsDoc(),
				ElementType:         types.StringType,
				Required:            true,
			},
			"secret": schema.StringAttribute{
				MarkdownDescription: "Intercom: the app's client secret, the HMAC-SHA1 key of `X-Hub-Signature`. Brevo: the bearer " +
					"token Brevo sends back with each delivery. " + secretRefDoc,
				Required: true,
			},
			"path": schema.StringAttribute{
				MarkdownDescription: "Receive path on the agent's listener, e.g. `/webhooks/intercom`; unique per agent.",
				Required:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
		},
	}
}

func (r *webhookSubscriptionResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.configure(req.ProviderData, &resp.Diagnostics)
}

func (m webhookSubscriptionModel) toConfig(ctx context.Context, u unknowns, diags *diag.Diagnostics) config.WebhookSubscription {
	return config.WebhookSubscription{
		ConnectorID: u.str("connector_id", m.ConnectorID),
		Source:      u.str("source", m.Source),
		Topics:      u.strings(ctx, "topics", m.Topics, diags),
		Secret:      config.SecretRef(u.str("secret", m.Secret)),
		Path:        u.str("path", m.Path),
	}
}

func webhookSubscriptionFromConfig(w config.WebhookSubscription) webhookSubscriptionModel {
	topics := make([]attr.Value, len(w.Topics))
	for i, t := range w.Topics {
		topics[i] = types.StringValue(t)
	}
	return webhookSubscriptionModel{
		ID:          types.StringValue(w.ID()),
		ConnectorID: types.StringValue(w.ConnectorID),
		Source:      types.StringValue(w.Source),
		Topics:      types.ListValueMust(types.StringType, topics),
		Secret:      types.StringValue(string(w.Secret)),
		Path:        types.StringValue(w.Path),
	}
}

func (r *webhookSubscriptionResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	validateObject[config.WebhookSubscription, webhookSubscriptionModel](ctx, req, resp)
}

func (r *webhookSubscriptionResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	createObject(ctx, &r.documents, req, resp, webhookSubscriptionFromConfig)
}

func (r *webhookSubscriptionResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	readObject(ctx, &r.documents, req, resp, webhookSubscriptionFromConfig)
}

func (r *webhookSubscriptionResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	updateObject(ctx, &r.documents, req, resp, webhookSubscriptionFromConfig)
}

func (r *webhookSubscriptionResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	r.deleteObject(ctx, req, resp)
}

func (r *webhookSubscriptionResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importID(ctx, req.ID, func(id string) error { _, _, err := config.ParseWebhookID(id); return err }, resp)
}
