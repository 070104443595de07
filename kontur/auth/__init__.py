"""Sign-in and roles: the policy table (`policy`), matching a signed-in person to the users directory
(`identity`), and the Streamlit sign-in gate (`signin`)."""
