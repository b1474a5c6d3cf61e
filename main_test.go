package main

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestQuietPluginLogs(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want map[string]string // "" means unset
	}{
		{
			name: "terraform not logging",
			want: map[string]string{"TF_LOG_SDK": "off", "TF_LOG_SDK_PROTO": "off", "TF_LOG_SDK_FRAMEWORK": "off", "TF_LOG_PROVIDER_TAJO": "off"},
		},
		{
			name: "TF_LOG set",
			env:  map[string]string{"TF_LOG": "trace"},
			want: map[string]string{"TF_LOG_SDK": "", "TF_LOG_SDK_PROTO": "", "TF_LOG_SDK_FRAMEWORK": "", "TF_LOG_PROVIDER_TAJO": ""},
		},
		{
			name: "TF_LOG_PROVIDER set",
			env:  map[string]string{"TF_LOG_PROVIDER": "debug"},
			want: map[string]string{"TF_LOG_SDK": "", "TF_LOG_PROVIDER_TAJO": ""},
		},
		{
			name: "a level set explicitly is kept",
			env:  map[string]string{"TF_LOG_PROVIDER_TAJO": "debug"},
			want: map[string]string{"TF_LOG_SDK": "off", "TF_LOG_PROVIDER_TAJO": "debug"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// t.Setenv restores every variable afterwards; unset the
			// ones the case does not give.
			for _, name := range append([]string{"TF_LOG", "TF_LOG_PROVIDER"}, pluginLogLevels...) {
				t.Setenv(name, "")
				if v, ok := tc.env[name]; ok {
					t.Setenv(name, v)
				} else {
					os.Unsetenv(name)
				}
			}
			quietPluginLogs()
			for name, want := range tc.want {
				if got := os.Getenv(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestLessGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	os.Unsetenv("GOGC")
	debug.SetGCPercent(100)
	lessGC()
	if got := debug.SetGCPercent(100); got != 800 {
		t.Errorf("GC percent %d without GOGC, want 800", got)
	}
	t.Setenv("GOGC", "50")
	debug.SetGCPercent(50)
	lessGC()
	if got := debug.SetGCPercent(100); got != 50 {
		t.Errorf("GC percent %d with GOGC=50, want it kept", got)
	}
}
