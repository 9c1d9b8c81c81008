"""surveyapp: community surveys and focus groups for capacity assessments."""
from flask import Flask

from surveyapp import config


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, commands."""
    app = Flask(__name__, instance_relative_config=True)
    app.jinja_options = {**app.jinja_options, "trim_blocks": True, "lstrip_blocks": True}
    app.config.from_mapping(config.defaults(app.instance_path))
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_mapping(config.from_environment())
    app.config.from_mapping(test_config or {})
    app.config["INSTANCE_PATH"] = app.instance_path
    config.finalise(app.config)

    from surveyapp import assets, auth, cli, i18n, security, urls
    from surveyapp.analysis import bp as analysis_bp
    from surveyapp.api import bp as api_bp
    from surveyapp.extensions import csrf, db, init_connection_checks, init_sqlite_pragmas, limiter, migrate
    from surveyapp.focus_groups import bp as focus_groups_bp
    from surveyapp.results import bp as results_bp
    from surveyapp.staff import bp as staff_bp
    from surveyapp.surveys import bp as surveys_bp

    db.init_app(app)
    init_sqlite_pragmas(app)
    init_connection_checks(app)
    migrate.init_app(app, db, directory=str(config.PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    assets.init_app(app)
    urls.init_app(app)

    auth.init_app(app)

    app.register_blueprint(surveys_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(results_bp)
    for staff_pages in (staff_bp, focus_groups_bp, analysis_bp):
        app.register_blueprint(staff_pages)
        csrf.exempt(staff_pages)  # FlaskForms check their own token and keep what was typed
    cli.init_app(app)
    return app
