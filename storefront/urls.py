from django.urls import path

from storefront import views

app_name = "storefront"
urlpatterns = [
    path("", views.home, name="home"),
    path("services/", views.services, name="services"),
    path("api/", views.api_docs, name="api-docs"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("order/", views.new_order, name="new-order"),
    path("order/quote/", views.order_quote_view, name="order-quote"),
    path("order/mass/", views.mass_order, name="mass-order"),
    path("orders/", views.orders, name="orders"),
    path("orders/drip-feed/", views.orders, {"kind": "drip-feed"}, name="drip-feed"),
    path("orders/subscriptions/", views.orders, {"kind": "subscriptions"}, name="subscriptions"),
    path("orders/<int:pk>/", views.order_detail, name="order"),
    path("orders/<int:pk>/refill/", views.order_refill, name="order-refill"),
    path("orders/<int:pk>/cancel/", views.order_cancel_view, name="order-cancel"),
    path("refills/", views.refills, name="refills"),
    path("funds/", views.funds, name="funds"),
    path("funds/quote/", views.funds_quote, name="funds-quote"),
    path("funds/sandbox/<int:pk>/", views.sandbox_pay, name="sandbox-pay"),
    path("funds/callback/<slug:gateway>/", views.gateway_callback, name="gateway-callback"),
    path("account/api/", views.api_keys, name="api-keys"),
]
