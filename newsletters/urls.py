from django.urls import path

from . import views

app_name = "newsletters"
urlpatterns = [
    path("sign-up/", views.signup, name="signup"),
]
