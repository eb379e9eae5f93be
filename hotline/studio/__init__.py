"""The campaign studio: the console's pages where campaign managers plan, send and judge awareness
campaigns (`campaign_views`), and look after the contacts they go to (`contact_views`). The work
itself lives in `campaigns` and `hotline.contacts`; these are its pages."""

STUDIO_ROLES = ("campaign_manager", "secretariat")  # the secretariat may read


def init_app(app) -> None:
    """The studio's pages under /console/campaigns and /console/contacts, and their place in the bar."""
    from hotline.accounts.navigation import add_section
    from hotline.studio import campaign_views, contact_views

    app.register_blueprint(campaign_views.bp)
    app.register_blueprint(contact_views.bp)
    add_section(app, "studio.index", "Campaigns", STUDIO_ROLES)
    add_section(app, "contacts.index", "Contacts", STUDIO_ROLES)
