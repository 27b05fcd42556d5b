from django.urls import include, path

from . import views

app_name = "newsletters"
urlpatterns = [
    path("", views.newsletter_list, name="list"),
    path("sign-up/", views.signup, name="signup"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("unsubscribe/<str:token>/", views.unsubscribe_view, name="unsubscribe"),
    path("preferences/<str:token>/", views.preferences, name="preferences"),
    # Mail providers' bounce and complaint webhooks (`services.bounces.from_provider`).
    path("anymail/", include("anymail.urls")),
]
