// Command terraform-provider-tajo serves the tajo Terraform provider: the
// declarations of an Intercom → Brevo connector, written to the store that
// tajo-agent runs from.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"runtime/debug"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/tajo/terraform-provider-tajo/provider"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()
	if !debug {
		quietPluginLogs()
	}
	lessGC()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address:         "registry.terraform.io/tajo/tajo",
		Debug:           debug,
		ProtocolVersion: 6,
	})
	if err != nil {
		log.Fatal(err)
	}
}

// lessGC lets the heap grow to 8 times the live data between collections
// instead of twice (GOGC=100), unless GOGC is set. A provider process lives
// for one Terraform command and holds a few megabytes, but the framework
// allocates for every attribute of every RPC: with the default, a quarter
// of the CPU time of a 500-resource plan went to the garbage collector.
func lessGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(800)
	}
}

// pluginLogLevels are the variables that set the log levels of the plugin
// libraries (terraform-plugin-go, -framework) and of the provider's own
// tflog lines.
var pluginLogLevels = []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_PROVIDER_TAJO"}

// quietPluginLogs turns the plugin's logs off when Terraform does not log
// (neither TF_LOG nor TF_LOG_PROVIDER is set; Terraform passes its
// environment to the plugin). Terraform then discards whatever the plugin
// logs, but the libraries still write every line at TRACE as JSON, and
// Terraform still reads and parses it: a third of the CPU time of a
// 500-resource plan. A level set explicitly is left alone.
func quietPluginLogs() {
	if os.Getenv("TF_LOG") != "" || os.Getenv("TF_LOG_PROVIDER") != "" {
		return
	}
	for _, name := range pluginLogLevels {
		if _, set := os.LookupEnv(name); !set {
			os.Setenv(name, "off")
		}
	}
}
