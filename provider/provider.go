// Package provider is the tajo Terraform provider: resources that declare an
// Intercom → Brevo connector, written as versioned documents to the store
// that tajo-agent runs from, and a data source that reads the agent's status
// back. Domain rules live in agent/config; this package only translates.
package provider

import (
	"context"
	"os"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/tajo/terraform-provider-tajo/agent/store"
	_ "github.com/tajo/terraform-provider-tajo/agent/store/postgres" // postgres:// store URLs
	_ "github.com/tajo/terraform-provider-tajo/agent/store/sqlite"   // sqlite:// store URLs
)

var _ provider.Provider = (*tajoProvider)(nil)

// EnvStore names the environment variable that supplies the store URL when
// the provider's store attribute is not set.
const EnvStore = "TAJO_STORE"

// New returns a constructor of the provider, as providerserver.Serve wants.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &tajoProvider{version: version} }
}

type tajoProvider struct {
	version string
}

type providerModel struct {
	Store types.String `tfsdk:"store"`
}

// providerData is what resources and data sources receive in Configure.
type providerData struct {
	store store.Store
}

func (p *tajoProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "tajo"
	resp.Version = p.version
}

func (p *tajoProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Declares how an Intercom workspace is synced into Brevo. Resources are written to a **store** " +
			"(an SQLite file or a PostgreSQL database) that `tajo-agent` reads and runs; the provider never talks to " +
			"Intercom, Brevo or the agent, so `terraform plan` works whether or not an agent runs.",
		Attributes: map[string]schema.Attribute{
			"store": schema.StringAttribute{
				MarkdownDescription: "URL of the store shared with `tajo-agent`: `sqlite:///var/lib/tajo/tajo.db` (an embedded " +
					"SQLite file, created on first use) or `postgres://user@host/db` (for agents on several hosts or plans in CI). " +
					"Defaults to the `" + EnvStore + "` environment variable.",
				Optional: true,
			},
		},
	}
}

// stores keeps one open store per URL for the life of the plugin process:
// Terraform configures the provider once per operation, resources share it.
var stores sync.Map // URL → store.Store

func openStore(ctx context.Context, url string) (store.Store, error) {
	if s, ok := stores.Load(url); ok {
		return s.(store.Store), nil
	}
	s, err := store.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	if prev, loaded := stores.LoadOrStore(url, s); loaded {
		s.Close()
		return prev.(store.Store), nil
	}
	return s, nil
}

func (p *tajoProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if m.Store.IsUnknown() {
		resp.Diagnostics.AddAttributeError(path.Root("store"), "Store URL not known at plan time",
			"The store attribute depends on a value only known after apply. Use a literal URL or the "+EnvStore+" environment variable.")
		return
	}
	url := m.Store.ValueString()
	if url == "" {
		url = os.Getenv(EnvStore)
	}
	if url == "" {
		resp.Diagnostics.AddAttributeError(path.Root("store"), "No store configured",
			`Set the provider's store attribute or the `+EnvStore+` environment variable to the store tajo-agent uses, `+
				`e.g. store = "sqlite:///var/lib/tajo/tajo.db".`)
		return
	}
	s, err := openStore(ctx, url)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("store"), "Cannot open the store", err.Error())
		return
	}
	tflog.Debug(ctx, "store opened", map[string]any{"store": store.Redact(url), "backend": s.Backend()})
	data := &providerData{store: s}
	resp.ResourceData = data
	resp.DataSourceData = data
}

func (p *tajoProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewConnectorResource,
		NewFieldMappingResource,
		NewListAssignmentResource,
		NewWebhookSubscriptionResource,
	}
}

func (p *tajoProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewConnectorStatusDataSource,
	}
}
