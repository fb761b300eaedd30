// The one list of the window's commands, as `module::command`. It is
// included twice, each time under its own definition of `quarry_commands!`:
// by `src/lib.rs`, which registers the handlers and exports the names
// (`quarry_desktop::COMMANDS`), and by `build.rs`, which declares a
// permission for each. `tests/commands.rs` checks the window's capability
// and `ui/src/lib/ipc.ts` against the same names.
quarry_commands! {
    library::library_overview,
    library::add_paths,
    library::reindex,
    library::remove_paths,
    library::cancel_ingest,
    library::reembed_library,
    chat::ask,
    chat::stop_answer,
    chat::list_conversations,
    chat::conversation_turns,
    chat::delete_conversation,
    chat::model_status,
    sources::passage_context,
    sources::open_document,
    inspect::inspect_passage,
    settings::get_settings,
    settings::save_settings,
    settings::choose_model,
}
