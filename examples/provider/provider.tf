terraform {
  required_providers {
    tajo = {
      source = "tajo/tajo"
    }
  }
}

# The store shared with tajo-agent. Defaults to the TAJO_STORE environment
# variable; use postgres://… when agents run on several hosts.
provider "tajo" {
  store = "sqlite:///var/lib/tajo/tajo.db"
}
