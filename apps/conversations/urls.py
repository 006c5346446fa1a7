from apps.conversations import views
from hyperrep.api.routers import Router

ID = "[^/]+"
router = Router()
router.register("conversations", views.ConversationViewSet, basename="conversation")
router.register(
    rf"conversations/(?P<conversation_id>{ID})/messages",
    views.MessageViewSet,
    basename="message",
)
router.register(
    rf"contacts/(?P<contact_id>{ID})/conversations",
    views.ContactConversationViewSet,
    basename="contact-conversation",
)
router.register(
    rf"agents/(?P<agent_id>{ID})/conversations",
    views.AgentConversationViewSet,
    basename="agent-conversation",
)
urlpatterns = router.urls
