from django.urls import path

from support import views

app_name = "support"
urlpatterns = [
    path("", views.tickets, name="tickets"),
    path("new/", views.ticket_new, name="new"),
    path("<int:pk>/", views.ticket_detail, name="ticket"),
    path("<int:pk>/close/", views.ticket_close_view, name="close"),
    path("<int:pk>/reopen/", views.ticket_reopen_view, name="reopen"),
    path("files/<int:pk>/", views.attachment, name="attachment"),
]
