// Command sms is the SMS channel plugin: one instance is one SMS line, served by Twilio or by a
// Kannel gateway. Customers' texts become conversations keyed by their number and ours; agents'
// replies go back as SMS, split into segments; STOP and START are honoured.
//
// It imports only the SDK: it must never reach into the hub.
package main

import "github.com/switchboardhq/switchboard/sdk"

func main() {
	sdk.ServeChannel(newSMS())
}
