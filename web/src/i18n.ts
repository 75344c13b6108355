// English and French. The browser's language picks one; the header's select switches
// (remembered in localStorage).

const en = {
  appName: "Resident messaging",
  language: "Language",
  signInAs: "Sign in as",
  signIn: "Sign in",
  signOut: "Sign out",
  signInUnavailable: "Sign-in is not available here.",
  messages: "Messages",
  newConversation: "New conversation",
  topic: "Topic",
  subject: "Subject",
  message: "Message",
  attachments: "Attachments (up to 3 photos or PDFs)",
  send: "Send",
  cancel: "Cancel",
  inbox: "Inbox",
  unread: "Unread",
  open: "Open",
  resolved: "Resolved",
  archived: "Archived",
  noThreads: "No conversations here.",
  loadMore: "Load more",
  back: "Back to the list",
  reply: "Reply",
  internalNote: "Internal note",
  resolve: "Resolve",
  reopen: "Re-open",
  participants: "Who's in the conversation",
  status: "Status",
  unit: "Unit",
  resident: "Resident",
  lastMessage: "Last message",
  you: "you",
  readBy: "Read by",
  tooManyFiles: "At most 3 attachments.",
  sending: "Sending…",
  failed: "Something went wrong",
  noteLabel: "Internal note (staff only)",
  automated: "Automated",
  resolvedNotice: "This conversation is resolved. Replying re-opens it.",
  archivedNotice: "This conversation is archived. Replying re-opens it.",
  filters: "Filters",
  anyTopic: "Any topic",
  property: "Property",
  anyProperty: "Any property",
  assignee: "Assignee",
  anyone: "Anyone",
  me: "Me",
  priority: "Priority",
  anyPriority: "Any priority",
  priorities: { normal: "Normal", urgent: "Urgent" } as Record<string, string>,
  clearFilters: "Clear filters",
  search: "Search",
  searchResults: "Search results",
  noResults: "Nothing found.",
  template: "Template",
  noTemplate: "None: write a message",
  sendAt: "Send later (optional)",
  scheduledFor: "Scheduled for",
  movedOn: "New messages arrived while you were writing. Read them, then send again.",
  linkedRecord: "Linked record",
  link: "Link",
  unlink: "Unlink",
  recordKind: "Kind",
  recordId: "Record number",
  recordLabel: "Description (optional)",
  recordKinds: { invoice: "Invoice", work_order: "Work order", lease: "Lease", payment: "Payment" } as Record<string, string>,
  addParticipant: "Add to the conversation",
  add: "Add",
  leave: "Leave",
  remove: "Remove",
  saved: "Saved.",
  unlinkedRecord: "unlinked the record",
  topics: { billing: "Billing", maintenance: "Maintenance", parking: "Parking", general: "General" } as Record<string, string>,
  events: {
    status_changed: "changed the status to",
    priority_changed: "changed the priority to",
    linked_record_changed: "linked the record",
    participant_joined: "joined",
    participant_left: "left",
    escalated: "escalated the conversation",
    acknowledged: "acknowledged the conversation",
    triage_corrected: "corrected the triage",
  } as Record<string, string>,
  statuses: { unread: "Unread", open: "Open", resolved: "Resolved", archived: "Archived" } as Record<string, string>,
};

export type Strings = typeof en;

const fr: Strings = {
  appName: "Messagerie des résidents",
  language: "Langue",
  signInAs: "Se connecter en tant que",
  signIn: "Se connecter",
  signOut: "Se déconnecter",
  signInUnavailable: "La connexion n'est pas disponible ici.",
  messages: "Messages",
  newConversation: "Nouvelle conversation",
  topic: "Thème",
  subject: "Sujet",
  message: "Message",
  attachments: "Pièces jointes (jusqu'à 3 photos ou PDF)",
  send: "Envoyer",
  cancel: "Annuler",
  inbox: "Boîte de réception",
  unread: "Non lus",
  open: "Ouverts",
  resolved: "Résolus",
  archived: "Archivés",
  noThreads: "Aucune conversation ici.",
  loadMore: "Afficher plus",
  back: "Retour à la liste",
  reply: "Répondre",
  internalNote: "Note interne",
  resolve: "Résoudre",
  reopen: "Rouvrir",
  participants: "Qui participe à la conversation",
  status: "Statut",
  unit: "Logement",
  resident: "Résident",
  lastMessage: "Dernier message",
  you: "vous",
  readBy: "Lu par",
  tooManyFiles: "Au plus 3 pièces jointes.",
  sending: "Envoi…",
  failed: "Une erreur est survenue",
  noteLabel: "Note interne (personnel seulement)",
  automated: "Automatique",
  resolvedNotice: "Cette conversation est résolue. Répondre la rouvre.",
  archivedNotice: "Cette conversation est archivée. Répondre la rouvre.",
  filters: "Filtres",
  anyTopic: "Tous les thèmes",
  property: "Immeuble",
  anyProperty: "Tous les immeubles",
  assignee: "Responsable",
  anyone: "Tout le monde",
  me: "Moi",
  priority: "Priorité",
  anyPriority: "Toutes les priorités",
  priorities: { normal: "Normale", urgent: "Urgente" },
  clearFilters: "Effacer les filtres",
  search: "Rechercher",
  searchResults: "Résultats de la recherche",
  noResults: "Aucun résultat.",
  template: "Modèle",
  noTemplate: "Aucune : écrire un message",
  sendAt: "Envoyer plus tard (facultatif)",
  scheduledFor: "Programmé pour le",
  movedOn: "De nouveaux messages sont arrivés pendant que vous écriviez. Lisez-les, puis envoyez de nouveau.",
  linkedRecord: "Dossier lié",
  link: "Lier",
  unlink: "Délier",
  recordKind: "Type",
  recordId: "Numéro du dossier",
  recordLabel: "Description (facultatif)",
  recordKinds: { invoice: "Facture", work_order: "Bon de travail", lease: "Bail", payment: "Paiement" },
  addParticipant: "Ajouter à la conversation",
  add: "Ajouter",
  leave: "Quitter",
  remove: "Retirer",
  saved: "Enregistré.",
  unlinkedRecord: "a délié le dossier",
  topics: { billing: "Facturation", maintenance: "Entretien", parking: "Stationnement", general: "Général" },
  events: {
    status_changed: "a changé le statut à",
    priority_changed: "a changé la priorité à",
    linked_record_changed: "a lié le dossier",
    participant_joined: "s'est joint",
    participant_left: "est parti",
    escalated: "a escaladé la conversation",
    acknowledged: "a pris en charge la conversation",
    triage_corrected: "a corrigé le tri",
  },
  statuses: { unread: "Non lu", open: "Ouvert", resolved: "Résolu", archived: "Archivé" },
};

export type Lang = "en" | "fr";
const STORED = "lang";

function initial(): Lang {
  const saved = localStorage.getItem(STORED);
  if (saved === "en" || saved === "fr") return saved;
  return navigator.language.toLowerCase().startsWith("fr") ? "fr" : "en";
}

let lang: Lang = initial();

export function currentLang(): Lang {
  return lang;
}

export function setLang(next: Lang): void {
  lang = next;
  localStorage.setItem(STORED, next);
  document.documentElement.lang = next;
}

export function t(): Strings {
  return lang === "fr" ? fr : en;
}

export function when(iso: string): string {
  return new Date(iso).toLocaleString(lang === "fr" ? "fr-CA" : "en-CA", {
    dateStyle: "medium",
    timeStyle: "short",
  });
}
