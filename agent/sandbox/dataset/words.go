package dataset

// Word lists the generator draws from. Names mix plain ASCII, accented
// Latin, other scripts and apostrophes, because those are what break name
// splitting and attribute encoding downstream.
var (
	firstNames = []string{
		"Anna", "Ben", "Chloé", "David", "Emma", "François", "Greta", "Hiroshi",
		"Ingrid", "José", "Katarzyna", "Liam", "María", "Nils", "Olga", "Pedro",
		"Quentin", "Renée", "Søren", "Tomás", "Uwe", "Valentina", "Wei", "Xavier",
		"Yusuf", "Zoë", "Aoife", "Björn", "Çağla", "Đorđe", "Émile", "Łucja",
		"Mei", "Noah", "Olivia", "Priya", "Rafael", "Sofia", "Thandiwe", "Ümit",
	}
	lastNames = []string{
		"Smith", "Müller", "García", "Rossi", "Dubois", "Nowak", "Johansson", "Silva",
		"O'Brien", "van der Berg", "Kowalczyk", "Nakamura", "Fernández", "Łukasiewicz",
		"Jørgensen", "Ó Briain", "Schmidt", "Papadopoulos", "Yılmaz", "Andersson",
		"Kim", "Nguyễn", "Dvořák", "Żuławski", "Hernández", "Wright", "Becker", "Costa",
	}
	// Names in other scripts, used whole (no Latin first/last split).
	scriptNames = []string{
		"李 雷", "王 芳", "山田 太郎", "佐藤 花子", "Дмитрий Иванов", "Ольга Смирнова",
		"محمد العلي", "فاطمة الزهراء", "יוסי כהן", "김 민준", "Νίκος Παπαδόπουλος", "สมชาย ใจดี",
	}
	// Single-word names (mononyms, nicknames, or a company name typed in).
	singleNames = []string{"Madonna", "Cher", "Prince", "Björk", "Pelé", "Zendaya", "support", "Ronaldinho"}

	emailDomains = []string{
		"example.com", "example.org", "mail.example.net", "acme.test", "globex.test",
		"initech.test", "umbrella.test", "hooli.test", "gmail.example", "outlook.example",
	}

	// Countries with a phone prefix and a national number length, to make
	// valid E.164 numbers.
	countries = []struct {
		Name, Code, Continent, Region, City, Prefix string
		Digits                                      int
	}{
		{"United States", "US", "NA", "California", "San Francisco", "+1415555", 4},
		{"United States", "US", "NA", "New York", "New York", "+1212555", 4},
		{"Germany", "DE", "EU", "Berlin", "Berlin", "+4930", 8},
		{"France", "FR", "EU", "Île-de-France", "Paris", "+331", 8},
		{"United Kingdom", "GB", "EU", "England", "London", "+44207946", 4},
		{"Spain", "ES", "EU", "Madrid", "Madrid", "+3491", 7},
		{"Brazil", "BR", "SA", "São Paulo", "São Paulo", "+5511", 8},
		{"Japan", "JP", "AS", "Tokyo", "Tokyo", "+813", 8},
		{"Australia", "AU", "OC", "New South Wales", "Sydney", "+612", 8},
		{"India", "IN", "AS", "Maharashtra", "Mumbai", "+9122", 8},
		{"Poland", "PL", "EU", "Masovia", "Warsaw", "+4822", 7},
		{"Ireland", "IE", "EU", "Leinster", "Dublin", "+3531", 7},
	}
	// Phone numbers as people really type them into forms: not E.164.
	invalidPhones = []string{"12345", "n/a", "+1 (555) CALL-NOW", "0000", "555-0199 ext. 12", "+999999999999999999"}

	browsers  = []string{"chrome", "firefox", "safari", "edge"}
	oses      = []string{"Windows 11", "OS X 14.4", "Linux", "iOS 17.4", "Android 14"}
	languages = []string{"en", "de", "fr", "es", "pt-BR", "ja", "pl"}

	planTiers   = []string{"free", "starter", "pro", "enterprise"}
	signupFrom  = []string{"website", "mobile_app", "referral", "partner", "event"}
	utmSources  = []string{"google", "newsletter", "linkedin", "partner_site"}
	utmCampaign = []string{"spring_launch", "black_friday", "webinar_q3", "retargeting"}

	companyWords = []string{
		"Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka",
		"Tyrell", "Soylent", "Cyberdyne", "Aperture", "Vandelay", "Pied Piper", "Nakatomi",
		"Müller & Söhne", "Dunder Mifflin", "Oceanic", "Monarch", "Gringotts",
	}
	companySuffix = []string{"Inc", "GmbH", "Ltd", "SAS", "Labs", "Group", "AG", "LLC", "Co"}
	industries    = []string{"Software", "Retail", "Healthcare", "Finance", "Education", "Manufacturing", "Media", "Logistics"}
	companyPlans  = []string{"Free", "Starter", "Growth", "Enterprise"}
	regionsSales  = []string{"emea", "amer", "apac"}

	convSubjects = []string{
		"Can't log in", "Question about my invoice", "Feature request: dark mode",
		"Export is failing", "How do I invite my team?", "Refund please", "Bug in the dashboard",
		"Überweisung nicht angekommen", "Problème de facturation", "API rate limits",
	}
	ratingRemarks = []string{
		"Great help, thanks!", "Slow answer.", "Solved my problem 🎉", "Not helpful",
		"Sehr freundlich", "Parfait, merci", "Took three replies but OK", "😡",
	}
	finSources     = []string{"essentials_plan_setup", "profile", "workflow", "workflow_preview", "fin_preview"}
	finTitles      = []string{"Fin for billing", "Default Fin profile", "Triage workflow", "Password reset flow"}
	sourceTypes    = []string{"conversation", "conversation", "conversation", "email", "email", "whatsapp", "sms", "phone_call", "instagram", "facebook", "twitter", "push", "phone_switch"}
	deliveredAs    = []string{"customer_initiated", "customer_initiated", "admin_initiated", "campaigns_initiated", "operator_initiated", "automated"}
	slaNames       = []string{"VIP 1h", "Standard 24h"}
	eventNames     = []string{"signed_in", "viewed_pricing", "upgraded_plan", "invited_teammate", "exported_report", "created_project", "cancelled_subscription"}
	eventMetaKeys  = []string{"plan", "source", "project_name", "seats", "invitee_email", "report_format", "reason"}
	eventMetaValue = []string{"pro", "web", "ios", "Q3 planning", "3", "csv", "too expensive", "Ünïcödé ✓"}
)
