# <connector name>/<Brevo list id>
terraform import tajo_list_assignment.all_users intercom/35
