import { render } from "preact";
import { App } from "./app";
import { Desk } from "./desk";
import { Store } from "./state";

const pop = new URLSearchParams(location.search).get("pop");
const store = new Store(pop);
const desk = new Desk(store);
render(<App store={store} desk={desk} />, document.getElementById("app")!);
desk.start();
