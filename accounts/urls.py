from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("sign-up/", views.sign_up, name="sign-up"),
    path("sign-up/sent/", views.sign_up_sent, name="sign-up-sent"),
    path("sign-up/confirm/<uidb64>/<token>/", views.sign_up_confirm_page, name="sign-up-confirm"),
    path("settings/", views.account_settings, name="settings"),
    path("language/", views.language_switch, name="language"),
    path("notifications/", views.account_notifications, name="notifications"),
    path("email/confirm/<str:token>/", views.email_confirm, name="email-confirm"),
    path("login/code/", views.login_code, name="login-code"),
    path("two-factor/", views.two_factor, name="two-factor"),
    path("two-factor/setup/", views.two_factor_setup, name="two-factor-setup"),
    path("two-factor/recovery-codes/", views.two_factor_recovery_codes, name="two-factor-recovery-codes"),
    path("two-factor/turn-off/", views.two_factor_turn_off, name="two-factor-turn-off"),
]
