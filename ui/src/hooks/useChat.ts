import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import * as ipc from '../lib/ipc';
import {
  applyAnswerEvent,
  failMessage,
  finishMessage,
  messageFromTurn,
  newMessage,
  type ChatMessage,
} from '../lib/chat';
import type { Conversation, QuarryErrorShape } from '../lib/types';

export interface Chat {
  conversations: Conversation[];
  conversationsError: QuarryErrorShape | null;
  conversationId: number | null;
  messages: ChatMessage[];
  loadingConversation: boolean;
  loadError: QuarryErrorShape | null;
  streaming: boolean;
  send: (question: string) => Promise<void>;
  stop: () => Promise<void>;
  select: (id: number) => Promise<void>;
  startNew: () => void;
  remove: (id: number) => Promise<void>;
  /** Reload the conversation list (e.g. after the library folder changed). */
  refresh: () => Promise<void>;
}

/**
 * Conversations and the messages of the open one. `onNoModel` is called when an
 * ask is refused because no language model is available.
 */
export function useChat(onNoModel: (err: QuarryErrorShape) => void): Chat {
  const [conversations, setConversations] = useState<Conversation[]>([]);
  const [conversationsError, setConversationsError] = useState<QuarryErrorShape | null>(null);
  const [conversationId, setConversationId] = useState<number | null>(null);
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [streaming, setStreaming] = useState(false);
  const [loadingConversation, setLoadingConversation] = useState(false);
  const [loadError, setLoadError] = useState<QuarryErrorShape | null>(null);
  const current = useRef<number | null>(null);
  const busy = useRef(false);
  const view = useRef(0);
  const alive = useRef(true);
  const noModel = useRef(onNoModel);
  noModel.current = onNoModel;

  const setCurrent = (id: number | null) => {
    current.current = id;
    setConversationId(id);
  };

  const refreshConversations = useCallback(async () => {
    try {
      const list = await ipc.listConversations();
      if (alive.current) {
        setConversations(list);
        setConversationsError(null);
      }
    } catch (err) {
      if (alive.current) setConversationsError(ipc.toQuarryError(err));
    }
  }, []);

  useEffect(() => {
    alive.current = true;
    void refreshConversations();
    return () => {
      alive.current = false;
    };
  }, [refreshConversations]);

  const send = useCallback(
    async (raw: string) => {
      const question = raw.trim();
      if (!question || busy.current) return;
      busy.current = true;
      setStreaming(true);
      const msg = newMessage(question);
      const myView = view.current;
      const update = (fn: (m: ChatMessage) => ChatMessage) => {
        if (!alive.current || view.current !== myView) return;
        setMessages((ms) => ms.map((m) => (m.key === msg.key ? fn(m) : m)));
      };
      setMessages((ms) => [...ms, msg]);
      try {
        const result = await ipc.ask(question, current.current, (event) => {
          update((m) => applyAnswerEvent(m, event));
          if (event.kind === 'retrieved' && view.current === myView && current.current !== event.conversation_id) {
            setCurrent(event.conversation_id);
            void refreshConversations();
          }
        });
        update((m) => finishMessage(m, result.answer, result.turn_id));
        if (view.current === myView) setCurrent(result.conversation_id);
      } catch (err) {
        const e = ipc.toQuarryError(err);
        update((m) => failMessage(m, { code: e.code, message: e.message, details: e.details }));
        if (e.code === 'no_model') noModel.current(e);
      } finally {
        busy.current = false;
        if (alive.current) setStreaming(false);
        void refreshConversations();
      }
    },
    [refreshConversations],
  );

  const stop = useCallback(async () => {
    try {
      await ipc.stopAnswer();
    } catch (err) {
      console.warn('Quarry: stop_answer failed', err);
    }
  }, []);

  const select = useCallback(async (id: number) => {
    if (busy.current) return;
    const myView = ++view.current;
    setCurrent(id);
    setLoadError(null);
    setLoadingConversation(true);
    setMessages([]);
    try {
      const turns = await ipc.conversationTurns(id);
      if (alive.current && view.current === myView) setMessages(turns.map(messageFromTurn));
    } catch (err) {
      if (alive.current && view.current === myView) setLoadError(ipc.toQuarryError(err));
    } finally {
      if (alive.current && view.current === myView) setLoadingConversation(false);
    }
  }, []);

  const startNew = useCallback(() => {
    if (busy.current) return;
    view.current++;
    setCurrent(null);
    setMessages([]);
    setLoadError(null);
    setLoadingConversation(false);
  }, []);

  const remove = useCallback(
    async (id: number) => {
      try {
        await ipc.deleteConversation(id);
        if (current.current === id && !busy.current) {
          view.current++;
          setCurrent(null);
          setMessages([]);
        }
        setConversationsError(null);
      } catch (err) {
        setConversationsError(ipc.toQuarryError(err));
      }
      await refreshConversations();
    },
    [refreshConversations],
  );

  return {
    conversations,
    conversationsError,
    conversationId,
    messages,
    loadingConversation,
    loadError,
    streaming,
    send,
    stop,
    select,
    startNew,
    remove,
    refresh: refreshConversations,
  };
}
